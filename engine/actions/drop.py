"""## `drop`

Removes the location: a key from its object, an element from its list (later elements
move up, as in the list itself). A dropped location is not *tainted*: the same value may
legitimately be kept elsewhere; the leak check's detectors still catch a dropped secret
that resurfaces under another key.

No options.

```yaml
rule:
  select: patterns[*].code_snippet
  action: drop
given: {"patterns": [{"pattern_id": "p1", "code_snippet": "def f():\n    return 1"}]}
expect: {"patterns": [{"pattern_id": "p1"}]}
```

A filter drops whole records:

```yaml
rule:
  select: memory[?outcome == 'cancelled']
  action: drop
given: {"memory": [{"outcome": "cancelled"}, {"outcome": "success"}]}
expect: {"memory": [{"outcome": "success"}]}
```
"""

from __future__ import annotations

from typing import Any

from .base import DROP, Action, RunContext


def _drop(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    return DROP


def _drop_many(values: list[Any], params: dict[str, Any], ctx: RunContext) -> list[Any]:
    return [DROP] * len(values)


ACTION = Action(
    name="drop",
    summary="remove the key, or the element from its list",
    treatment="dropped by rule",
    transform=_drop,
    transform_many=_drop_many,
    doc=__doc__ or "",
)
