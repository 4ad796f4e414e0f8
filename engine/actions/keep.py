"""## `keep`

Leaves the value as it is and marks it *covered*, so that `unmatched: drop` does not
remove it. On an object or list, the whole subtree is kept: keep the narrowest location
that serves, since everything below it leaves the machine raw.

No options.

```yaml
rule:
  select: memory[*].outcome
  action: keep
given: {"memory": [{"outcome": "success", "command": "rm -rf /home/ann"}]}
expect: {"memory": [{"outcome": "success"}]}
unmatched: drop
```
"""

from __future__ import annotations

from typing import Any

from .base import Action, RunContext


def _keep(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    return value


ACTION = Action(
    name="keep",
    summary="leave the value as it is, and mark it covered",
    treatment="kept raw",
    transform=_keep,
    doc=__doc__ or "",
)
