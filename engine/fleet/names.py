"""The public names an aggregate may show: the framework's own.

An export keeps framework names and hashes or generalizes the rest, but only under the
default policy; a user's own policy may keep a custom name (which can name a customer).
The aggregate therefore shows a name only when it is on one of these lists, and folds
anything else into ``custom`` (capabilities, agents, workflows) or ``other`` (tags,
types). The lists match the allow lists of ``policies/default.yaml``; a test checks that.
"""

from __future__ import annotations

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
