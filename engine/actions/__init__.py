"""The actions a policy rule can take: one module each, registered here explicitly.

Adding an action touches this registry and its own module; the policy loader, the docs
generator and the tests all read ``REGISTRY``.
"""

from __future__ import annotations

from . import aggregate, drop, generalize, hash, keep, mask, redact, replace, round
from .base import DROP, Action, ActionValueError, OptionError, RunContext

REGISTRY: dict[str, Action] = {
    module.ACTION.name: module.ACTION
    for module in (keep, drop, hash, round, generalize, replace, mask, redact, aggregate)
}

__all__ = ["DROP", "REGISTRY", "Action", "ActionValueError", "OptionError", "RunContext"]
