"""The public names an aggregate may show: the framework's own.

An export keeps framework names and hashes or generalizes the rest, but only under the
default policy; a user's own policy may keep a custom name (which can name a customer).
The aggregate therefore shows a name only when it is on one of these lists, and folds
anything else into ``custom`` (capabilities, agents, workflows) or ``other`` (tags,
types). The lists match the allow lists of ``policies/default.yaml``; a test checks that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

CAPABILITIES: frozenset[str] = frozenset({
    "code_generation", "code_review", "testing", "documentation", "refactoring", "debugging",
    "security_scan", "architecture", "planning", "design", "performance_analysis",
    "dependency_audit", "test_generation", "requirements_analysis", "deployment", "ux_review",
})  # fmt: skip
AGENTS: frozenset[str] = frozenset({
    "reviewer", "implementer", "tester", "debugger", "architect", "designer", "planner",
    "documenter", "ops", "analyst", "enhancer", "orchestrator", "evaluator", "improver",
})  # fmt: skip
WORKFLOWS: frozenset[str] = frozenset({
    "rapid", "full-sdlc", "quality", "bugfix", "enhancement", "maintenance",
    "brownfield-analysis", "feature", "hotfix", "refactor",
})  # fmt: skip
VULNERABILITY_TAGS: frozenset[str] = frozenset({
    "sql-injection", "xss", "hardcoded-secret", "path-traversal", "command-injection",
    "insecure-deserialization", "weak-crypto", "ssrf", "xxe", "csrf", "open-redirect",
    "insecure-random", "code-injection", "ldap-injection", "broken-auth", "insecure-tls",
    "sensitive-data-exposure", "debug-enabled",
})  # fmt: skip
PATTERN_TYPES: frozenset[str] = frozenset({"function", "class", "import", "structure"})
IMPROVEMENT_TYPES: frozenset[str] = frozenset(
    {"prompt_optimization", "pattern_learning", "feedback_loop"})
OUTCOMES: frozenset[str] = frozenset({"success", "failure", "partial", "cancelled"})


def public(name: object, known: frozenset[str], fallback: str) -> str:
    """``name`` when it is a known public name, else ``fallback``."""
    return name if isinstance(name, str) and name in known else fallback


_HASHED_ID = re.compile(r"custom_[0-9a-f]{8,64}")  # hash's output with the default prefix

# (section, list, field): the names an export carries, with their public lists and the
# word the default policies put in place of any other name
NAME_FIELDS: tuple[tuple[str, str | None, str, frozenset[str], str], ...] = (
    ("capability_metrics", "capabilities", "capability_id", CAPABILITIES, "custom"),
    ("pattern_statistics", "by_type", "pattern_type", PATTERN_TYPES, "other"),
    ("pattern_statistics", "vulnerabilities", "tag", VULNERABILITY_TAGS, "other"),
    ("usage_patterns", "agents", "agent_name", AGENTS, "custom"),
    ("usage_patterns", "workflows", "workflow_name", WORKFLOWS, "custom"),
    ("learning_effectiveness", "refinements_by_type", "improvement_type", IMPROVEMENT_TYPES,
     "other"),
    ("task_outcomes", None, "outcome", OUTCOMES, "other"),
    ("task_outcomes", None, "agent_id", AGENTS, "custom"),
)


_BY_FIELD = {field: (known, fallback) for _, _, field, known, fallback in NAME_FIELDS}


def public_in(field: str, name: object) -> str:
    """``name`` as the aggregate shows it in ``field`` (a field of ``NAME_FIELDS``): itself
    when public, else the default policies' stand-in there (``custom`` or ``other``)."""
    known, fallback = _BY_FIELD[field]
    return public(name, known, fallback)


def unpublished(document: Any) -> Iterator[tuple[str, str]]:
    """(path, name) of each name in an export that is neither public, nor the default
    policies' stand-in (``custom``, ``other``), nor a hashed custom capability id: a name
    a user's own policy kept, which may name a customer. The aggregate folds such names
    away; a package, which the maintainers receive whole, must not carry them."""
    if not isinstance(document, dict):
        return
    for section, listed, field, known, fallback in NAME_FIELDS:
        holder = document.get(section)
        rows = holder.get(listed) if listed and isinstance(holder, dict) else holder
        for index, row in enumerate(rows if isinstance(rows, list) else ()):
            name = row.get(field) if isinstance(row, dict) else None
            if not isinstance(name, str) or name in known or name == fallback:
                continue
            if field == "capability_id" and _HASHED_ID.fullmatch(name):
                continue
            where = f"{section}.{listed}" if listed else section
            yield f"{where}[{index}].{field}", name
