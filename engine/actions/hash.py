"""## `hash`

Replaces the value with a keyed hash: the lowercase hex of HMAC-SHA256(key, text), cut
to `length` characters, after an optional `prefix`. The text hashed is the value itself
for text, and its compact JSON (sorted keys, no spaces) for anything else; `null` stays
`null`. The same value under the same key always gives the same hash, so records can
still be joined; a different key gives unrelated hashes. There is no unkeyed hash: a
plain digest of a small vocabulary (task ids, capability names) is reversed by guessing.
The key comes from the policy's `hash.key`, `--hash-key-file`, or the project's key file;
see *Hashing*. The original value is *tainted*.

| option | meaning | default |
|---|---|---|
| `length` | hex characters kept, 8 to 64 | the policy's `hash.length` (16) |
| `prefix` | text put before the hex, e.g. `cap_` | none |

Examples on this page use the key `docs-example-key`.

```yaml
rule:
  select: memory[*].task_id
  action: hash
  length: 12
  prefix: "task_"
given: {"memory": [{"task_id": "task_1"}, {"task_id": "task_1"}]}
expect: {"memory": [{"task_id": "task_09374293f7eb"}, {"task_id": "task_09374293f7eb"}]}
```
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from .base import Action, ActionValueError, RunContext, compact_json


def digest(key: bytes, value: Any, length: int) -> str:
    """The keyed hash of ``value`` (text as is, anything else as compact JSON; a lone
    surrogate, which a JSON escape such as \\ud800 can make, as its UTF-8-like bytes)."""
    text = value if isinstance(value, str) else compact_json(value)
    return _hmac(_pads(key), text.encode("utf-8", "surrogatepass"))[:length]


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
Pads = tuple["hashlib._Hash", "hashlib._Hash"]


@lru_cache(maxsize=4)
def _pads(key: bytes) -> Pads:
    """HMAC-SHA256 (RFC 2104) with its two padded-key blocks hashed once: a value then
    costs two state copies, where ``hmac.new`` sets up OpenSSL's HMAC anew each time
    (twice as slow). The tests check it against ``hmac`` on generated keys and texts."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD))


def _hmac(pads: Pads, data: bytes) -> str:
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(data)
    outer.update(inner.digest())
    return outer.hexdigest()


def _hash(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    if value is None:
        return None
    _need_key(ctx)
    ctx.taint(value)
    length = params.get("length") or ctx.hash_length
    out = params.get("prefix", "") + digest(ctx.key, value, length)
    ctx.produced.add(out)
    return out


def _hash_many(values: list[Any], params: dict[str, Any], ctx: RunContext) -> list[Any]:
    """``_hash`` of each value; a column of text is hashed once per distinct value."""
    if set(map(type, values)) != {str}:
        return [_hash(v, params, ctx) for v in values]
    _need_key(ctx)
    key, length = ctx.key, params.get("length") or ctx.hash_length
    prefix, pads = params.get("prefix", ""), _pads(key)  # type: ignore[arg-type]
    hashes = {v: prefix + _hmac(pads, v.encode("utf-8", "surrogatepass"))[:length]
              for v in dict.fromkeys(values)}  # each distinct value once, in list order
    ctx.tainted.update(hashes)
    ctx.produced.update(hashes.values())
    return list(map(hashes.__getitem__, values))


def _need_key(ctx: RunContext) -> None:
    if ctx.key is None:
        raise ActionValueError(
            "no hash key is available",
            hint="set hash.key in the policy (env:NAME or file:PATH) or pass --hash-key-file",
        )


ACTION = Action(
    name="hash",
    summary="keyed hash (HMAC-SHA256) of the value",
    treatment="hashed",
    options={
        "length": {"type": "integer", "min": 8, "max": 64},
        "prefix": {"type": "string", "regex": r"[A-Za-z0-9_.:-]{0,16}"},
    },
    transform=_hash,
    transform_many=_hash_many,
    doc=__doc__ or "",
)
