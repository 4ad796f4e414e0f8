"""Detectors: regular expressions that find sensitive text in strings.

Two features share them. The ``redact`` action replaces every match in free text with
``<name>``; the leak check runs :func:`first` on every string of an export (keys included)
and fails the export when any detector fires. docs/detectors.md lists what each detector
matches, what it leaves alone and what it misses.

Compile once, scan many: :func:`scanner` builds one :class:`Scanner` per set of detector
names and caches it. A scanner first tries one *gate* regex made of every detector's
*trigger* (a cheap necessary condition, such as ``/`` for ``path``); a string the gate does
not match cannot match any pattern, so the common benign string costs one regex search.
Past the gate, each pattern runs only where its *need* (``@`` for an e-mail address)
passes; the needs are evaluated once per string, all together.

Resolution, shared by :func:`find`, :func:`first` and :func:`redact`: the earliest match
wins, then the longest, then the detector listed first in ``DETECTORS``. The detectors
themselves (patterns, needs, triggers, anchors) are defined in ``detectorrules``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .detectorrules import DETECTORS, LEAK_DEFAULT, REDACT_DEFAULT, Detector, Need
from .errors import did_you_mean

__all__ = ["DETECTORS", "LEAK_DEFAULT", "REDACT_DEFAULT", "Detector", "Finding", "Need", "find",
           "first", "mask_preview", "redact", "scanner"]


@dataclass(frozen=True)
class Finding:
    """A match: which detector, and the span ``[start, end)`` in the scanned text."""

    detector: str
    start: int
    end: int

    def text(self, source: str) -> str:
        """The matched substring of ``source``."""
        return source[self.start : self.end]


def _passes(text: str, folded: str, need: Need) -> bool:
    """Whether ``need`` passes on ``text`` (``folded`` is ``text.lower()``).

    The reference meaning of a need; :meth:`Scanner._present` is its inlined, batched form.
    """
    if need is None:
        return True
    if isinstance(need, str):
        return need in text
    if isinstance(need, tuple):
        return any(map(folded.__contains__, need))
    return need.search(text) is not None


_RANK = {name: rank for rank, name in enumerate(DETECTORS)}


# ---- scanning ---------------------------------------------------------------------------
_Candidate = tuple[int, int, int, str, int]  # start, -length, rank, name, end


@dataclass(frozen=True)
class Scanner:
    """The detectors of one name set, compiled: a gate, then each rule behind its need."""

    names: tuple[str, ...]
    gate: re.Pattern[str]
    literals: tuple[str, ...]  # the distinct needs of the rules, by kind; a rule's need
    word_sets: tuple[tuple[str, ...], ...]  # index counts through all three in this order
    regexes: tuple[re.Pattern[str], ...]
    any_regex: re.Pattern[str]  # all regex needs in one: when it fails, each of them fails
    rules: tuple[tuple[int, str, int, re.Pattern[str]], ...]  # rank, name, need (-1: none), pattern

    def first(self, text: str) -> Finding | None:
        """The finding ``find(text)`` would list first, or None (fast when None)."""
        if self.gate.search(text) is None:
            return None
        best: _Candidate | None = None
        present = self._present(text)
        for rank, name, need, pattern in self.rules:
            if (need < 0 or present[need]) and (m := pattern.search(text)) is not None:
                cand = (m.start(), m.start() - m.end(), rank, name, m.end())
                if best is None or cand < best:
                    best = cand
        return None if best is None else Finding(best[3], best[0], best[4])

    def _present(self, text: str) -> list[bool]:
        """Which needs pass on ``text``: one flat pass, no call per need."""
        folded = text.lower()
        return [
            *[literal in text for literal in self.literals],
            *[any(map(folded.__contains__, words)) for words in self.word_sets],
            *(
                [regex.search(text) is not None for regex in self.regexes]
                if self.any_regex.search(text) is not None
                else [False] * len(self.regexes)
            ),
        ]

    def find(self, text: str, extra: Sequence[re.Pattern[str]] = ()) -> list[Finding]:
        """Sorted, non-overlapping findings; matches of ``extra`` report as ``pattern``."""
        cands: list[_Candidate] = []
        if self.gate.search(text) is not None:
            present = self._present(text)
            for rank, name, need, pattern in self.rules:
                if need < 0 or present[need]:
                    _collect(cands, text, pattern, rank, name)
        for pattern in extra:
            _collect(cands, text, pattern, len(_RANK), "pattern")
        cands.sort()
        found: list[Finding] = []
        for start, _, _, name, end in cands:
            if not found or start >= found[-1].end:
                found.append(Finding(name, start, end))
        return found

    def redact(self, text: str, patterns: Sequence[re.Pattern[str]] = ()) -> tuple[str, list[str]]:
        """Replace each finding with ``<name>``; return the new text and the replaced parts.

        A replacement can join text into a new match (``a@b.io/etc`` becomes
        ``<email>/etc``), so the detectors run again on the result until it is clean.
        """
        parts: list[str] = []
        findings = self.find(text, patterns)
        for _ in range(8):
            if not findings:
                break
            text = _replace(text, findings, parts)
            findings = self.find(text)
        return text, parts


def _collect(
    out: list[_Candidate], text: str, pattern: re.Pattern[str], rank: int, name: str
) -> None:
    for m in pattern.finditer(text):
        if m.end() > m.start():
            out.append((m.start(), m.start() - m.end(), rank, name, m.end()))


def _replace(text: str, findings: list[Finding], parts: list[str]) -> str:
    pieces, last = [], 0
    for f in findings:
        pieces += [text[last : f.start], f"<{f.detector}>"]
        parts.append(text[f.start : f.end])
        last = f.end
    pieces.append(text[last:])
    return "".join(pieces)


def _gate(triggers: Iterable[str]) -> re.Pattern[str]:
    """One regex for many lead-first triggers: ``[leads](?:rest|rest|...|(?<=[bare leads]))``.

    It starts with a character class, so ``re`` skips every character that leads no
    trigger; at a lead it tries the rests, each of which fails on its first character.
    It may match a little more than the triggers do (a lead followed by another lead's
    rest), never less, so it stays a necessary condition.
    """
    leads: dict[str, None] = {}
    bare: dict[str, None] = {}
    rests: dict[str, None] = {}
    for trigger in triggers:
        cut = 2 if trigger.startswith("\\") else 1
        lead, rest = trigger[:cut], trigger[cut:]
        leads[lead] = None
        if rest:
            rests[rest] = None
        else:
            bare[lead] = None
    if not leads:
        return re.compile("(?!)")
    branches = [*rests, f"(?<=[{''.join(bare)}])"] if bare else list(rests)
    return re.compile(f"[{''.join(leads)}](?:{'|'.join(branches)})")


def _build(names: tuple[str, ...]) -> Scanner:
    for name in names:
        if name not in DETECTORS:
            raise ValueError(f"unknown detector {name!r}{did_you_mean(name, DETECTORS)}")
    chosen = tuple(d for d in DETECTORS.values() if d.name in names)
    pairs = [(d, n, p) for d in chosen for n, p in zip(d.needs, d.patterns, strict=True)]
    literals = tuple(dict.fromkeys(n for _, n, _ in pairs if isinstance(n, str)))
    word_sets = tuple(dict.fromkeys(n for _, n, _ in pairs if isinstance(n, tuple)))
    regexes = tuple(dict.fromkeys(n for _, n, _ in pairs if isinstance(n, re.Pattern)))
    order = {need: i for i, need in enumerate((*literals, *word_sets, *regexes))}
    rules = tuple(
        (_RANK[d.name], d.name, -1 if need is None else order[need], pattern)
        for d, need, pattern in pairs
    )
    gate = _gate(t for d in chosen for t in d.triggers)
    any_regex = re.compile("|".join(f"(?:{r.pattern})" for r in regexes) or "(?!)")
    return Scanner(
        tuple(d.name for d in chosen), gate, literals, word_sets, regexes, any_regex, rules
    )


_SCANNERS: dict[tuple[str, ...], Scanner] = {}  # a cache: one scanner per tuple of names


def scanner(names: Iterable[str] = LEAK_DEFAULT) -> Scanner:
    """The compiled, cached scanner for a set of detector names (order does not matter)."""
    key = (names,) if isinstance(names, str) else tuple(names)
    found = _SCANNERS.get(key)
    if found is None:
        found = _SCANNERS[key] = _build(key)
    return found


_LEAK_SCANNER = scanner(LEAK_DEFAULT)  # compiled at import, not on the first call


def find(text: str, names: Iterable[str] = LEAK_DEFAULT) -> list[Finding]:
    """Every finding in ``text``: sorted, non-overlapping (earliest, then longest, wins)."""
    return scanner(names).find(text)


def first(text: str, names: Iterable[str] = LEAK_DEFAULT) -> Finding | None:
    """The first finding in ``text`` (the same as ``find(text)[0]``), or None. Fast when None."""
    if names is LEAK_DEFAULT:  # the leak check's hot path
        return _LEAK_SCANNER.first(text)
    cached = _SCANNERS.get(names) if isinstance(names, tuple) else None
    return (cached or scanner(names)).first(text)


def redact(
    text: str, names: Iterable[str] = REDACT_DEFAULT, patterns: Sequence[re.Pattern[str]] = ()
) -> tuple[str, list[str]]:
    """``text`` with each finding replaced by ``<name>`` (``<pattern>`` for ``patterns``),
    and the list of replaced substrings in order."""
    return scanner(names).redact(text, patterns)


def mask_preview(value: str, keep: int = 4) -> str:
    """A preview safe for error messages, e.g. ``AKIA…(20 chars)``.

    Shows at most ``keep`` leading characters and never more than a third of the value;
    values shorter than 8 characters are fully masked. Never contains the whole value.
    """
    if not value:
        return "…(0 chars)"
    shown = min(max(keep, 0), len(value) // 3) if len(value) >= 8 else 0
    head = "".join(c if c.isprintable() else "?" for c in value[:shown])
    for preview in (f"{head}…({len(value)} chars)", f"…({len(value)} chars)", "…"):
        if value not in preview:
            return preview
    return ""
