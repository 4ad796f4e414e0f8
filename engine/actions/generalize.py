r"""## `generalize`

Replaces a precise value with a coarser class of values. `as` says which kind:

| option | meaning | default |
|---|---|---|
| `as` | `path`, `bucket` or `category` | required |
| `bounds` | for `bucket`: increasing numbers; a value falls in `[a, b)` | required for `bucket` |
| `allow` | for `category`: the values kept as they are | required for `category` |
| `other` | for `category`: the label of every other value | `other` |

* `as: path` turns a file path into a pattern that keeps only the project-relative top
  folder and the file type: everything up to a well-known top folder (`src`, `lib`,
  `app`, `tests`, `docs`, …) is removed, the rest becomes `**`, the file name becomes
  `*` plus its extension (up to 8 letters or digits; a longer one is dropped too). `/home/a/p/src/app/x.py` → `src/**/*.py`; a path without a
  known top folder becomes `**/*.py`; one without an extension ends in `*`.
* `as: bucket` turns a number into a range label: `<a` below the first bound, `a-b` for
  `[a, b)`, `b+` from the last bound on.
* `as: category` keeps a value listed in `allow` and maps any other one to `other`.

A value that changed is *tainted*; `null` stays `null`; a value of the wrong kind (a
number for `path`, text that is no number for `bucket`) is an error.

```yaml
rule:
  select: learning.outcomes[*].file_path
  action: generalize
  as: path
given: {"learning": {"outcomes": [{"file_path": "/home/ann/acme/src/billing/invoice.py"},
                                  {"file_path": "C:\\Users\\bob\\proj\\tests\\test_x.py"},
                                  {"file_path": "README"}]}}
expect: {"learning": {"outcomes": [{"file_path": "src/**/*.py"}, {"file_path": "tests/*.py"},
                                   {"file_path": "*"}]}}
```

```yaml
rule:
  select: analytics.workflows[*].steps
  action: generalize
  as: bucket
  bounds: [1, 5, 10]
given: {"analytics": {"workflows": [{"steps": 0}, {"steps": 3}, {"steps": 5}, {"steps": 12}]}}
expect: {"analytics": {"workflows": [{"steps": "<1"}, {"steps": "1-5"}, {"steps": "5-10"},
                                     {"steps": "10+"}]}}
```

```yaml
rule:
  select: capabilities.metrics[*].capability_id
  action: generalize
  as: category
  allow: [code_generation, code_review]
  other: custom
given: {"capabilities": {"metrics": [{"capability_id": "code_review"},
                                     {"capability_id": "acme_invoice_parser"}]}}
expect: {"capabilities": {"metrics": [{"capability_id": "code_review"},
                                      {"capability_id": "custom"}]}}
```
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from .base import Action, ActionValueError, OptionError, RunContext, as_number, type_name

TOP_FOLDERS = frozenset(
    ["src", "lib", "libs", "app", "apps", "pkg", "cmd", "internal", "tests", "test", "spec", "docs", "doc", "scripts", "bin", "tools", "config", "configs", "examples", "benchmarks", "bench", "packages", "modules", "components", "services"]
)
_SEPARATORS = re.compile(r"[\\/]+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}\Z")  # longer "extensions" may carry names


def generalize_path(path: str) -> str:
    """``/home/a/p/src/app/x.py`` → ``src/**/*.py`` (see the module docs)."""
    parts = [p for p in _SEPARATORS.split(path.strip()) if p and p not in (".", "~")]
    if not parts:
        return "*"
    name, folders = parts[-1], parts[:-1]
    ext = _EXTENSION.search(name.lstrip("."))
    suffix = "*" + ext.group(0).lower() if ext else "*"
    tops = [i for i, folder in enumerate(folders) if folder.lower() in TOP_FOLDERS]
    if not tops:
        return f"**/{suffix}" if folders else suffix
    top = tops[0]
    inner = "/**" if top < len(folders) - 1 else ""
    return f"{folders[top]}{inner}/{suffix}"


def _labels(bounds: list[float]) -> tuple[str, ...]:
    """The bucket labels of ``bounds``: ``<b0``, ``b0-b1``, ..., ``bn+``; bucket i holds
    the numbers with ``bisect_right(bounds, n) == i``."""
    def show(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    inner = (f"{show(low)}-{show(high)}" for low, high in zip(bounds, bounds[1:], strict=False))
    return (f"<{show(bounds[0])}", *inner, f"{show(bounds[-1])}+")


def _prepare(options: dict[str, Any]) -> dict[str, Any]:
    kind = options["as"]
    needed = {"bucket": "bounds", "category": "allow"}.get(kind)
    for name in ("bounds", "allow", "other"):
        belongs = name == needed or (name == "other" and kind == "category")
        if name in options and not belongs:
            raise OptionError(name, f"'{name}' does not apply to as: {kind}")
    if needed and needed not in options:
        raise OptionError(needed, f"as: {kind} needs '{needed}'",
                          hint="add bounds: [1, 5, 10]" if kind == "bucket" else "add allow: [a, b]")
    bounds = options.get("bounds")
    if bounds is not None and any(b >= c for b, c in zip(bounds, bounds[1:], strict=False)):
        raise OptionError("bounds", "bounds must be strictly increasing")
    params = dict(options)
    if bounds is not None:
        params["labels"] = _labels(bounds)  # worked out once, not per value
    if "allow" in params:
        params["allow_set"] = frozenset(map(str, params["allow"]))
    return params


def _generalize(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    if value is None:
        return None
    kind = params["as"]
    if kind == "path":
        if not isinstance(value, str):
            raise ActionValueError(f"as: path needs text, and this is {type_name(value)}")
        result: Any = generalize_path(value)
    elif kind == "bucket":
        parsed = as_number(value)
        if parsed is None:
            raise ActionValueError(f"as: bucket needs a number, and this is {type_name(value)}",
                                   hint="select only numeric fields")
        result = params["labels"][bisect_right(params["bounds"], parsed[0])]
    else:
        if isinstance(value, dict | list):
            raise ActionValueError(f"as: category needs a single value, not {type_name(value)}")
        result = value if str(value) in params["allow_set"] else params.get("other", "other")
    if result != value:
        ctx.taint(value)
    return result


ACTION = Action(
    name="generalize",
    summary="a path to a pattern, a number to a range, a value to a category",
    treatment="generalized",
    options={
        "as": {"type": "string", "required": True, "allowed": ["path", "bucket", "category"]},
        "bounds": {"type": "list", "minlength": 1, "schema": {"type": "number"}},
        "allow": {"type": "list", "minlength": 1,
                  "schema": {"type": ["string", "number", "boolean"]}},
        "other": {"type": "string"},
    },
    transform=_generalize,
    prepare=_prepare,
    doc=__doc__ or "",
)
