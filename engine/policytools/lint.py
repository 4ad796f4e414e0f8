"""``policy lint``: what loads but is probably not what the author meant.

Beyond the loader's errors (``policy``) and a sample run that fails (``apply-error``),
each check below is one function, registered in ``CHECKS``; each finding has a level, a
``file:line:col`` and the check's id. The policy is run on a sample (``samples``) with
the traced apply of ``explain``, so the checks see what the engine did.

=====================  ===============================================================
check                  warns when
=====================  ===============================================================
``unmatched-rule``     a rule matches nothing on the sample
``shadowed-by-drop``   a rule matches nothing because earlier rules removed all of it
``undoing-action``     a later rule undoes an earlier one on the same location: a
                       ``keep`` after a ``hash`` (the value stays hashed, the keep only
                       misleads), or a ``drop``/transform after a ``keep``
``unmatched-keep``     ``unmatched: keep``: fields no rule names are exported raw
``key-in-git``         the hash key file is inside a git work tree and not git-ignored
``short-hash``         a ``hash`` keeps fewer than 12 hex digits (collisions join
                       unrelated records)
``export-fails``       an export with the policy fails on the sample (the schema or the
                       leak check): every real export would fail the same way
=====================  ===============================================================
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import yamlsafe
from ..errors import ApplyError, Location, PolicyError, did_you_mean
from ..paths import folded, leaves
from ..policy import Policy, PolicyProblems, load_policy
from . import gitsrc
from .explain import TRANSFORMS, Explanation, explain

MIN_HASH_LENGTH = 12


@dataclass(frozen=True)
class Finding:
    location: Location
    level: str  # error | warning
    message: str
    check: str

    def render(self) -> str:
        where = Location(self.location.file, self.location.line or 1, self.location.column or 1)
        return f"{where}: {self.level}: {self.message} ({self.check})"

    def github(self) -> str:
        props = {"file": self.location.file, "line": self.location.line or 1,
                 "col": self.location.column or 1, "title": f"learnexport {self.check}"}
        shown = ",".join(f"{k}={_escape(str(v), True)}" for k, v in props.items())
        return f"::{self.level} {shown}::{_escape(self.message, False)}"


def _escape(text: str, prop: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


@dataclass(frozen=True)
class Context:
    policy: Policy
    marks: yamlsafe.Marks
    explanation: Explanation
    document: Any

    def at(self, *path: Any) -> Location:
        return self.marks.at(path)


@dataclass(frozen=True)
class Check:
    id: str
    run: Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class LintResult:
    source: str
    sample: str
    findings: tuple[Finding, ...]

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)


def lint_file(path: str, document: Any, sample: str) -> LintResult:
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        found = exc.found if isinstance(exc, PolicyProblems) else [exc]
        return LintResult(path, sample, tuple(_load_finding(e, path) for e in found))
    raw = Path(path).read_bytes()
    _, marks = yamlsafe.load(raw, path)
    try:
        explanation = explain(policy, document, sample)
    except ApplyError as exc:
        finding = Finding(exc.location or Location(path, 1, 1), "error",
                          _without_location(exc), "apply-error")
        return LintResult(path, sample, (finding,))
    ctx = Context(policy, marks, explanation, document)
    findings = [f for check in CHECKS for f in check.run(ctx)]
    findings.sort(key=lambda f: (f.location.line or 0, f.location.column or 0, f.check))
    return LintResult(path, sample, tuple(findings))


def _without_location(exc: PolicyError | ApplyError) -> str:
    return type(exc)(exc.message, hint=exc.hint, rule=exc.rule, path=exc.path).render()


def _load_finding(exc: PolicyError, path: str) -> Finding:
    return Finding(exc.location or Location(path, 1, 1), "error", _without_location(exc),
                   "policy")


# --- the checks ------------------------------------------------------------------------

def _removers(ctx: Context, number: int) -> list[str]:
    """The earlier rules that removed everything rule ``number`` selects in the input
    (empty when it selects nothing there, or when something of it was not removed)."""
    rule = ctx.policy.rules[number]
    matches = rule.selector.resolve(ctx.document)
    removed = ctx.explanation.trace.removed
    found: dict[int, None] = {}
    for match in matches:
        for path, _ in leaves(match.value, match.path):
            removal = removed.get(path)
            if removal is None or removal.rule >= number:
                return []
            found[removal.rule] = None
    return [ctx.policy.rules[n].id for n in sorted(found)]


def _unknown_fields(ctx: Context, number: int) -> str:
    keys = {part for path in ctx.explanation.locations for part in path if isinstance(part, str)}
    names = _field_names(ctx.policy.rules[number].selector.ast)
    missing = [n for n in names if n not in keys]
    if not missing:
        return ""
    name = missing[0]
    return f"; no field '{name}' occurs in the sample{did_you_mean(name, keys)}"


def _field_names(node: dict[str, Any]) -> Iterator[str]:
    if node.get("type") == "field":
        yield node["value"]
    for child in node.get("children", []):
        if isinstance(child, dict):
            yield from _field_names(child)


def unmatched_rule(ctx: Context) -> Iterator[Finding]:
    for number, rule in enumerate(ctx.policy.rules):
        if ctx.explanation.matched[number] == 0 and not _removers(ctx, number):
            yield Finding(ctx.at("rules", number), "warning", f'rule "{rule.id}" matches '
                          f"nothing on {ctx.explanation.sample} (select: {rule.select!r})"
                          f"{_unknown_fields(ctx, number)}", "unmatched-rule")


def shadowed_by_drop(ctx: Context) -> Iterator[Finding]:
    for number, rule in enumerate(ctx.policy.rules):
        removers = _removers(ctx, number) if ctx.explanation.matched[number] == 0 else []
        if removers:
            names = ", ".join(f'"{r}"' for r in removers)
            yield Finding(ctx.at("rules", number), "warning", f'rule "{rule.id}" matches '
                          f"nothing: all it selects was already removed by rule {names}; "
                          "move it before that rule or remove it", "shadowed-by-drop")


def undoing_action(ctx: Context) -> Iterator[Finding]:
    rules = ctx.policy.rules
    pairs: dict[tuple[int, int], list[str]] = {}
    for path, hits in ctx.explanation.trace.hits.items():
        acting = [h for h in hits if h.at is not None and rules[h.rule].action != "aggregate"]
        for i, early in enumerate(acting):
            for late in acting[i + 1:]:
                if late.at == early.at and _undoes(rules[early.rule].action,
                                                   rules[late.rule].action):
                    pairs.setdefault((early.rule, late.rule), []).append(folded(path))
    for (a, b), paths in sorted(pairs.items()):
        first, second = rules[a], rules[b]
        counts = Counter(paths)
        where = ", ".join(f"{p} ({n} location{'s' * (n > 1)})" for p, n in counts.items())
        if second.action == "keep":
            text = (f'rule "{second.id}" keeps {where} after rule "{first.id}" '
                    f"{_past(first.action)} it: the value stays {_past(first.action)} (rules "
                    "apply in order), so the keep changes nothing and only reads as if the "
                    "field were exported raw; remove one of the two")
        else:
            text = (f'rule "{second.id}" {_verb(second.action)} {where}, which rule '
                    f'"{first.id}" keeps: the second undoes the first; remove the keep or '
                    f"narrow the {second.action}")
        yield Finding(ctx.at("rules", b), "warning", text, "undoing-action")


def _undoes(first: str, second: str) -> bool:
    return ((first in TRANSFORMS and second == "keep")
            or (first == "keep" and (second in TRANSFORMS or second == "drop")))


def _verb(action: str) -> str:
    return {"hash": "hashes", "mask": "masks", "redact": "redacts", "replace": "replaces",
            "round": "rounds", "generalize": "generalizes", "drop": "drops"}[action]


def _past(action: str) -> str:
    return {"hash": "hashed", "round": "rounded", "generalize": "generalized",
            "mask": "masked", "redact": "redacted", "replace": "replaced"}[action]


def unmatched_keep(ctx: Context) -> Iterator[Finding]:
    if ctx.policy.unmatched == "keep":
        yield Finding(ctx.at("unmatched"), "warning", "unmatched: keep exports every field "
                      "no rule names, raw, including fields a new framework version adds; "
                      "use unmatched: drop (default deny)", "unmatched-keep")


def key_in_git(ctx: Context) -> Iterator[Finding]:
    spec = ctx.policy.hash.key or ""
    if not spec.startswith("file:"):
        return
    path = Path(spec.removeprefix("file:")).expanduser()
    if not path.is_absolute() and ctx.policy.base_dir is not None:
        path = ctx.policy.base_dir / path
    place = gitsrc.place_of(path)
    if place.work_tree is None or place.ignored:
        return
    how = "is tracked by git" if place.tracked else "is not git-ignored"
    yield Finding(ctx.at("hash", "key"), "warning", f"the hash key file {path} is inside "
                  f"the git work tree {place.work_tree} and {how}: a commit publishes the "
                  "key, and with it every hash can be reversed by guessing; keep it outside "
                  "the repository (or at least in .gitignore)", "key-in-git")


def short_hash(ctx: Context) -> Iterator[Finding]:
    for number, rule in enumerate(ctx.policy.rules):
        if rule.action != "hash":
            continue
        length = rule.options.get("length") or ctx.policy.hash.length
        if length >= MIN_HASH_LENGTH:
            continue
        where = (ctx.at("rules", number, "length") if "length" in rule.options
                 else ctx.at("hash", "length"))
        yield Finding(where, "warning", f'rule "{rule.id}" keeps {length} hex digits of its '
                      f"hash: among about {2 ** (2 * length):,} values two likely collide, "
                      "and unrelated records then join; use length: "
                      f"{MIN_HASH_LENGTH} or more", "short-hash")


def export_fails(ctx: Context) -> Iterator[Finding]:
    if ctx.explanation.checks and not ctx.explanation.fails:
        yield Finding(ctx.at(), "warning", "an export with this policy fails on "
                      f"{ctx.explanation.sample}: {ctx.explanation.checks}", "export-fails")


CHECKS: tuple[Check, ...] = (
    Check("unmatched-rule", unmatched_rule),
    Check("shadowed-by-drop", shadowed_by_drop),
    Check("undoing-action", undoing_action),
    Check("unmatched-keep", unmatched_keep),
    Check("key-in-git", key_in_git),
    Check("short-hash", short_hash),
    Check("export-fails", export_fails),
)


def render(results: list[LintResult], fmt: str) -> str:
    findings = [f for r in results for f in r.findings]
    if fmt == "github":
        return "\n".join(f.github() for f in findings)
    if fmt == "json":
        return json.dumps([{"file": r.source, "sample": r.sample, "findings": [
            {"line": f.location.line, "column": f.location.column, "level": f.level,
             "check": f.check, "message": f.message} for f in r.findings]}
            for r in results], indent=2, ensure_ascii=False)
    return "\n".join(f.render() for f in findings)
