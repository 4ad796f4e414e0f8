"""## `redact`

Finds sensitive parts inside free text and replaces each with `<kind>`, keeping the rest
of the text. On an object or a list it works through every text inside (keys included),
so it suits free-form fields such as `context`, `metadata` or `key_learnings`. Numbers,
booleans and `null` are left as they are. Each replaced part is *tainted*.

| option | meaning | default |
|---|---|---|
| `detectors` | built-in detectors to use, by name (see docs/detectors.md) | `[path, email, secret, url, ip, code]` |
| `patterns` | extra regular expressions (Python syntax); a match becomes `<pattern>` | none |

Redaction is best effort: it finds what its detectors know. For fields that may hold
anything, prefer `drop`; use `redact` where the remaining text is worth exporting.

```yaml
rule:
  select: memory[*].key_learnings
  action: redact
given: {"memory": [{"key_learnings": ["cache /home/ann/acme/app.db per run",
                                      "mail ann@acme.io on failure"]}]}
expect: {"memory": [{"key_learnings": ["cache <path> per run", "mail <email> on failure"]}]}
```

```yaml
rule:
  select: learning.expert_performance[*].query
  action: redact
  detectors: [email]
  patterns: ["ACME-[0-9]+"]
given: {"learning": {"expert_performance": [{"query": "why does ACME-4411 fail for bo@x.org"}]}}
expect: {"learning": {"expert_performance": [{"query": "why does <pattern> fail for <email>"}]}}
```
"""

from __future__ import annotations

import re
from typing import Any

from .. import detectors
from .base import Action, OptionError, RunContext


def _prepare(options: dict[str, Any]) -> dict[str, Any]:
    names = tuple(options.get("detectors") or detectors.REDACT_DEFAULT)
    compiled = []
    for text in options.get("patterns", []):
        try:
            compiled.append(re.compile(text))
        except re.error as exc:
            raise OptionError(
                "patterns", f"pattern {text!r} is not a regular expression: {exc}",
                hint="write Python regular expressions; escape a literal '.' as '\\.'",
            ) from None
        if compiled[-1].search(""):
            raise OptionError("patterns", f"pattern {text!r} matches empty text",
                              hint="make it match at least one character")
    return {"names": names, "patterns": tuple(compiled)}


def _redact_text(text: str, params: dict[str, Any], ctx: RunContext) -> str:
    new, parts = detectors.redact(text, params["names"], params["patterns"])
    for part in parts:
        ctx.taint(part)
    return new


def _redact(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    if isinstance(value, str):
        return _redact_text(value, params, ctx)
    if isinstance(value, list):
        return [_redact(item, params, ctx) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key = _redact_text(key, params, ctx)
            while new_key in out:
                new_key += "_"
            out[new_key] = _redact(item, params, ctx)
        return out
    return value


ACTION = Action(
    name="redact",
    summary="replace sensitive parts of free text with <kind>",
    treatment="redacted",
    options={
        "detectors": {"type": "list", "minlength": 1,
                      "schema": {"type": "string", "allowed": list(detectors.DETECTORS)}},
        "patterns": {"type": "list", "schema": {"type": "string", "minlength": 1}},
    },
    transform=_redact,
    prepare=_prepare,
    doc=__doc__ or "",
)
