"""## `replace`

Puts a constant in place of the value, whatever it was (`null` included). The value it
replaced is *tainted*: the leak check makes sure it appears nowhere in the output.

| option | meaning | default |
|---|---|---|
| `value` | the constant: any YAML value (text, number, list, object, `null`) | required |

```yaml
rule:
  select: project.root
  action: replace
  value: "<project>"
given: {"project": {"root": "/home/ann/acme-billing"}}
expect: {"project": {"root": "<project>"}}
```
"""

from __future__ import annotations

import copy
from typing import Any

from .base import Action, RunContext


def _replace(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    new = params["value"]
    if value != new:
        ctx.taint(value)
    return copy.deepcopy(new) if isinstance(new, dict | list) else new


def _replace_many(values: list[Any], params: dict[str, Any], ctx: RunContext) -> list[Any]:
    new = params["value"]
    if isinstance(new, dict | list) or set(map(type, values)) != {str}:
        return [_replace(v, params, ctx) for v in values]
    distinct = dict.fromkeys(values)
    distinct.pop(new, None)  # the constant itself is not hidden by putting it back
    ctx.tainted.update(distinct)
    return [new] * len(values)


ACTION = Action(
    name="replace",
    summary="put a constant in place of the value",
    treatment="replaced by a constant",
    options={"value": {"required": True, "nullable": True}},
    transform=_replace,
    transform_many=_replace_many,
    doc=__doc__ or "",
)
