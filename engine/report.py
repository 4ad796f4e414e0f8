"""The report of a run: per rule what it matched and did, then what no rule covered.

Paths only (list indexes folded to ``[*]``), never values, so a report can be shared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RuleReport:
    id: str
    action: str
    select: str
    matched: int = 0
    changed: int = 0
    dropped: int = 0
    paths: Counter[str] = field(default_factory=Counter)
    notes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "action": self.action, "select": self.select,
               "matched": self.matched, "changed": self.changed, "dropped": self.dropped,
               "paths": dict(sorted(self.paths.items()))}
        if self.notes:
            out["notes"] = dict(self.notes)
        return out


@dataclass
class Report:
    policy: dict[str, str]
    unmatched: str
    rules: list[RuleReport]
    uncovered: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rules": [r.to_dict() for r in self.rules],
            "unmatched": {"action": self.unmatched, "paths": dict(sorted(self.uncovered.items()))},
        }
