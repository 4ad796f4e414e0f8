"""## `mask`

Keeps the last `keep_last` characters of a text and masks the rest with `char`, so a
reader can tell two values apart without reading them. Text no longer than `keep_last`
is masked whole. Numbers are masked as their text; `null` stays `null`; an object, a
list or a boolean is an error. The original is *tainted*.

| option | meaning | default |
|---|---|---|
| `keep_last` | characters left visible at the end (0 to 16) | `4` |
| `char` | the one masking character | `*` |

```yaml
rule:
  select: memory[*].task_id
  action: mask
  keep_last: 2
given: {"memory": [{"task_id": "task_1234"}, {"task_id": "t1"}]}
expect: {"memory": [{"task_id": "*******34"}, {"task_id": "**"}]}
```
"""

from __future__ import annotations

from typing import Any

from .base import Action, ActionValueError, RunContext, type_name


def _mask(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ActionValueError(
            f"mask applies to text or numbers, and this is {type_name(value)}",
            hint="select the text fields inside it, or use drop or hash",
        )
    text = str(value)
    keep = params["keep_last"]
    shown = text[-keep:] if 0 < keep < len(text) else ""
    ctx.taint(text)
    out = params["char"] * (len(text) - len(shown)) + shown
    ctx.produced.add(out)
    return out


ACTION = Action(
    name="mask",
    summary="mask all but the last characters of a text",
    treatment="masked",
    options={
        "keep_last": {"type": "integer", "min": 0, "max": 16, "default": 4},
        "char": {"type": "string", "minlength": 1, "maxlength": 1, "default": "*"},
    },
    transform=_mask,
    doc=__doc__ or "",
)
