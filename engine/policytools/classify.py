"""Is a change weaker or stronger for privacy? The rules ``policy diff`` judges by.

Treatments and actions are ranked by how much of a value leaves the machine (``EXPOSURE``):
nothing (dropped, replaced by a constant) < a contribution to a summary (aggregated) <
a keyed hash (hashed) < a coarser value (generalized, rounded, masked) < free text minus
what the detectors found (redacted) < the value itself (kept raw). A change to a higher
rank *weakens* privacy, to a lower one *strengthens* it.

Within one action, option changes are judged by ``OPTION_JUDGES`` (one function per
action, registered explicitly): ``round`` to a finer unit, to more digits or a smaller
step weakens; a ``generalize`` bucket split finer or a category allowed through weakens;
``aggregate`` with a lower ``min_group_size``, an extra ``group_by`` column or a metric that
reveals single records (``min``, ``max``, ``p50``, ``p95``) weakens; ``mask`` showing more
characters weakens; ``redact`` without a detector or pattern weakens. Anything else that
changes is *neutral*: reported, not judged. A ``Change`` is one judged entry of a diff.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import detectors
from ..actions.round import UNITS

WEAKENS, STRENGTHENS, NEUTRAL = "weakens", "strengthens", "neutral"
EFFECT_ORDER = {WEAKENS: 0, STRENGTHENS: 1, NEUTRAL: 2}

KIND_EXPOSURE = {
    "dropped": 0, "uncovered-dropped": 0, "uncovered-error": 0, "replaced": 0,
    "aggregated": 1, "hashed": 2, "generalized": 3, "rounded": 3, "masked": 3,
    "redacted": 4, "kept": 5, "uncovered-kept": 5,
}  # fmt: skip
ACTION_EXPOSURE = {"drop": 0, "replace": 0, "aggregate": 1, "hash": 2, "generalize": 3,
                   "round": 3, "mask": 3, "redact": 4, "keep": 5}
UNMATCHED_EXPOSURE = {"drop": 0, "error": 0, "keep": 5}
REVEALING = ("min", "max", "p50", "p95")


@dataclass(frozen=True)
class Verdict:
    effect: str
    reason: str
    option: str = ""  # the option judged, for option changes


Options = Mapping[str, Any]


def by_rank(before: int, after: int, reason: str, option: str = "") -> Verdict:
    if after > before:
        return Verdict(WEAKENS, reason, option)
    if after < before:
        return Verdict(STRENGTHENS, reason, option)
    return Verdict(NEUTRAL, reason, option)


def judge_options(action: str, old: Options, new: Options) -> list[Verdict]:
    """One verdict per option change of a rule whose action stayed ``action``."""
    verdicts = OPTION_JUDGES.get(action, _neutral_judge)(old, new)
    judged = {v.option for v in verdicts}
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name) and name not in judged:
            verdicts.append(Verdict(NEUTRAL, f"{name}: {_show(old.get(name))} → "
                                             f"{_show(new.get(name))}", name))
    return verdicts


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _neutral_judge(old: Options, new: Options) -> list[Verdict]:
    return []


def _round(old: Options, new: Options) -> list[Verdict]:
    if "to" in old and "to" in new and old["to"] != new["to"]:
        finer = UNITS.index(new["to"]) < UNITS.index(old["to"])
        return [Verdict(WEAKENS if finer else STRENGTHENS,
                        f"to: {old['to']} → {new['to']} ({'finer' if finer else 'coarser'})", "to")]
    if "digits" in old and "digits" in new and old["digits"] != new["digits"]:
        more = new["digits"] > old["digits"]
        text = "fewer" if more else "more"
        return [Verdict(WEAKENS if more else STRENGTHENS, f"digits: {old['digits']} → "
                        f"{new['digits']} ({text} digits rounded away)", "digits")]
    if "step" in old and "step" in new and old["step"] != new["step"]:
        finer = new["step"] < old["step"]
        return [Verdict(WEAKENS if finer else STRENGTHENS, f"step: {old['step']} → "
                        f"{new['step']} ({'finer' if finer else 'coarser'})", "step")]
    return []


def _generalize(old: Options, new: Options) -> list[Verdict]:
    out: list[Verdict] = []
    if old.get("as") != new.get("as"):
        return out
    before, after = old.get("bounds"), new.get("bounds")
    if before is not None and after is not None and before != after:
        shown = f"bounds: {_show(before)} → {_show(after)}"
        if set(after) > set(before) or (len(after) > len(before)):
            out.append(Verdict(WEAKENS, f"{shown} (a bucket split finer)", "bounds"))
        elif set(after) < set(before) or len(after) < len(before):
            out.append(Verdict(STRENGTHENS, f"{shown} (buckets merged)", "bounds"))
    allowed = [str(v) for v in new.get("allow", []) if v not in old.get("allow", [])]
    refused = [str(v) for v in old.get("allow", []) if v not in new.get("allow", [])]
    if allowed:
        out.append(Verdict(WEAKENS, f"allow: now passes {', '.join(allowed)} through as is",
                           "allow"))
    if refused:
        out.append(Verdict(STRENGTHENS, f"allow: no longer passes {', '.join(refused)}",
                           "allow"))
    return out


def _group_names(options: Options) -> list[str]:
    out = []
    for entry in options.get("group_by", []):
        out.append(", ".join(f"{k}: {v}" for k, v in entry.items())
                   if isinstance(entry, dict) else str(entry))
    return out


_METRIC_KIND = re.compile(r"\s*([a-z0-9]+)")


def _aggregate(old: Options, new: Options) -> list[Verdict]:
    out: list[Verdict] = []
    low, high = old.get("min_group_size", 1), new.get("min_group_size", 1)
    if low != high:
        out.append(by_rank(-low, -high, f"min_group_size: {low} → {high} ("
                           f"{'smaller' if high < low else 'only larger'} groups exported)",
                           "min_group_size"))
    before, after = _group_names(old), _group_names(new)
    for name in (n for n in after if n not in before):
        out.append(Verdict(WEAKENS, f"group_by: + {name} (finer groups)", "group_by"))
    for name in (n for n in before if n not in after):
        out.append(Verdict(STRENGTHENS, f"group_by: − {name} (coarser groups)", "group_by"))
    old_m, new_m = old.get("metrics", {}), new.get("metrics", {})
    for name in sorted(set(old_m) | set(new_m)):
        if old_m.get(name) == new_m.get(name):
            continue
        if name not in new_m:
            out.append(Verdict(STRENGTHENS, f"metrics: − {name}", "metrics"))
            continue
        found = _METRIC_KIND.match(str(new_m[name]))
        reveals = found is not None and found.group(1) in REVEALING
        what = f"metrics: {name} = {new_m[name]}" + ("" if name not in old_m
                                                      else f" (was {old_m[name]})")
        out.append(Verdict(WEAKENS if reveals else NEUTRAL,
                           what + (" (reveals single records' values)" if reveals else ""),
                           "metrics"))
    if old.get("digits") != new.get("digits"):
        a, b = old.get("digits"), new.get("digits")
        weaker = b is None or (a is not None and b > a)
        out.append(Verdict(WEAKENS if weaker else STRENGTHENS,
                           f"digits: {_show(a)} → {_show(b)} (metrics rounded "
                           f"{'less' if weaker else 'more'})", "digits"))
    return out


def _mask(old: Options, new: Options) -> list[Verdict]:
    a, b = old.get("keep_last", 4), new.get("keep_last", 4)
    if a == b:
        return []
    return [by_rank(a, b, f"keep_last: {a} → {b} ({'more' if b > a else 'fewer'} "
                          "characters shown)", "keep_last")]


def _redact(old: Options, new: Options) -> list[Verdict]:
    out: list[Verdict] = []
    default = list(detectors.REDACT_DEFAULT)
    before, after = old.get("detectors") or default, new.get("detectors") or default
    for name in (d for d in before if d not in after):
        out.append(Verdict(WEAKENS, f"detectors: − {name} (no longer redacted)", "detectors"))
    for name in (d for d in after if d not in before):
        out.append(Verdict(STRENGTHENS, f"detectors: + {name}", "detectors"))
    for text in (p for p in old.get("patterns", []) if p not in new.get("patterns", [])):
        out.append(Verdict(WEAKENS, f"patterns: − {text!r} (no longer redacted)", "patterns"))
    for text in (p for p in new.get("patterns", []) if p not in old.get("patterns", [])):
        out.append(Verdict(STRENGTHENS, f"patterns: + {text!r}", "patterns"))
    return out


OPTION_JUDGES: dict[str, Callable[[Options, Options], list[Verdict]]] = {
    "round": _round,
    "generalize": _generalize,
    "aggregate": _aggregate,
    "mask": _mask,
    "redact": _redact,
}


def worst(verdicts: list[Verdict]) -> str:
    """The effect that matters most among several: a weakening, else a strengthening."""
    if not verdicts:
        return NEUTRAL
    return min((v.effect for v in verdicts), key=EFFECT_ORDER.__getitem__)


SCOPES = ("policy", "rule", "field", "export", "version")


@dataclass(frozen=True)
class Change:
    effect: str  # weakens | strengthens | neutral
    scope: str  # policy | rule | field | export | version
    subject: str  # the rule id, field path or policy key
    what: str
    where: str | None = None  # file:line in NEW (in OLD for what NEW no longer has)
    fields: tuple[str, ...] = ()  # a neutral change shared by many fields: all of them

    def sort_key(self) -> tuple[int, int, str]:
        return EFFECT_ORDER[self.effect], SCOPES.index(self.scope), self.subject
