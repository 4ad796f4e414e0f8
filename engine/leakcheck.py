"""The leak check: the last stage before anything is written.

It scans every string of the result, keys included, and fails the run (exit 4, nothing
written) when

* a *tainted* value survives: a value the policy hid (the input of ``hash``, ``mask``,
  ``replace``, each part ``redact`` replaced, each value ``generalize`` changed), at least
  ``MIN_TAINT`` characters long, appears as a value, inside a longer value, or as a key;
* the hash key appears anywhere;
* a detector fires (absolute paths, emails, secrets, URLs with credentials, IP addresses,
  code, timestamps with a time of day), except where an allowance names that detector on
  that path. The run's own ``<stamp>.export_timestamp`` is the one built-in allowance.

``check`` returns the findings and the allowances *used*: those that kept a detector
from firing on some string (with how often and where, as folded paths), so a report can
show an auditor every exception the run relied on.

A finding names the path and the detector or rule, with a masked preview: the failure
message never repeats the secret. What ``drop`` removed is not tainted (a dropped field
may repeat a value legitimately kept elsewhere); the detectors catch a dropped secret
that resurfaces under another key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from ahocorasick_rs import AhoCorasick

from . import detectors, leakscan
from .errors import LeakError
from .paths import WILD, Path, PathNode, format_path

MIN_TAINT = 4
FEW = 16  # up to this many hidden values, each is looked for with str.find
SMALL = 256  # a result with fewer strings and containers skips the fast path
MAX_FINDINGS = 20


@dataclass(frozen=True)
class Allowance:
    """A detector allowed on the paths matching ``path``: a folded path as the leak check
    shows it (``memory[*].context.file``), where ``[*]`` is any list element and any
    other ``*`` any run of characters (``export_metadata.*`` is that whole subtree)."""

    detector: str
    path: str
    reason: str

    def matches(self, shown: str) -> bool:
        return _glob(self.path).match(shown) is not None


@lru_cache(maxsize=256)
def _glob(path: str) -> re.Pattern[str]:
    """``path`` as a regex: ``[*]`` literal, another ``*`` any characters, the rest literal.
    (fnmatch would read ``[*]`` as a character class, so the path that a finding shows
    would not match itself.)"""
    parts = re.split(r"(\[\*\]|\*)", path)
    return re.compile("".join(
        re.escape(part) if part not in ("[*]", "*") else (r"\[\*\]" if part == "[*]" else ".*")
        for part in parts) + r"\Z")


@dataclass(frozen=True)
class AllowanceUse:
    """An allowance that kept its detector from firing: how often, and where."""

    allowance: Allowance
    matches: int
    paths: tuple[str, ...]  # folded paths, sorted
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        a = self.allowance
        return {"detector": a.detector, "path": a.path, "reason": a.reason,
                "builtin": self.builtin, "matches": self.matches, "paths": list(self.paths)}


@dataclass(frozen=True)
class Finding:
    path: str
    what: str  # "detector <name>", "hidden value", "hash key"
    preview: str

    def render(self) -> str:
        return f"{self.path}: {self.what} ({self.preview})"


class _Tainted:
    """Substring search for many hidden values at once.

    An Aho-Corasick automaton of the values' *heads* (their first ``HEAD`` characters,
    or all of a shorter value) finds, in Rust, every offset where a hidden value may
    start; there a slice of each length a value has is looked up in the set of values.
    The leak check's fast path scans whole columns for the same heads (``leakscan``).
    The automaton is built on first use.
    """

    HEAD = 12

    def __init__(self, values: Iterable[str]) -> None:
        values = set(values)
        if values and min(map(len, values)) < MIN_TAINT:
            values = {v for v in values if len(v) >= MIN_TAINT}
        self.values = values
        self.heads = set(map(itemgetter(slice(self.HEAD)), values))
        self._finder: tuple[AhoCorasick | None, list[int]] | None = None
        self._odd: list[str] = []  # values whose head holds a lone surrogate (see _build)

    def find(self, text: str) -> str | None:
        """The hidden value in ``text`` that starts first (the longest of those), or None."""
        if not self.values or len(text) < MIN_TAINT:
            return None
        if len(self.values) <= FEW:  # a substring search each beats building an automaton
            return self._first(text)
        if self._finder is None:
            self._finder = self._build()
        automaton, lengths = self._finder
        values, head = self.values, self.HEAD
        try:
            hits = automaton.find_matches_as_indexes(text, overlapping=True) \
                if automaton is not None else []
        except UnicodeEncodeError:  # a lone surrogate (from a JSON escape): the slow way
            return self._first(text)
        best: tuple[int, int, str] | None = None
        for value in self._odd:  # the few values the automaton cannot hold
            at = text.find(value)
            if at >= 0 and (best is None or (at, -len(value)) < best[:2]):
                best = (at, -len(value), value)
        for _, start, end in hits:
            if best is not None and start > best[0]:
                continue
            if end - start < head:  # a short value is its own head
                candidates = (end - start,)
            else:
                candidates = tuple(n for n in lengths if n >= head)  # the longest first
            for length in candidates:
                value = text[start:start + length]
                if value in values:
                    if best is None or (start, -length) < best[:2]:
                        best = (start, -length, value)
                    break
        return best[2] if best is not None else None

    def _build(self) -> tuple[AhoCorasick | None, list[int]]:
        """The automaton of the heads that are UTF-8 text, and the lengths of the values.
        ahocorasick_rs silently drops every pattern after the first it cannot encode (a
        lone surrogate, from a JSON escape such as \\ud800), which let a hidden value
        through; the values whose head holds one are looked for one by one instead."""
        heads = list(self.heads)
        try:
            "\n".join(heads).encode("utf-8")
        except UnicodeEncodeError:
            heads = [h for h in heads if _encodable(h)]
            self._odd = [v for v in self.values if not _encodable(v[:self.HEAD])]
        return (AhoCorasick(heads) if heads else None,
                sorted(set(map(len, self.values)), reverse=True))

    def _first(self, text: str) -> str | None:
        found = [(at, -len(v), v) for v in self.values if (at := text.find(v)) >= 0]
        return min(found)[2] if found else None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found (at most ``MAX_FINDINGS``) and the allowances it relied on."""

    findings: list[Finding]
    allowances: list[AllowanceUse]


class _Uses:
    """Counts, per allowance, the strings on which it kept its detector from firing."""

    def __init__(self, allowances: list[Allowance], first_builtin: int) -> None:
        self.allowances, self.first_builtin = allowances, first_builtin
        self.paths: dict[int, dict[str, int]] = {}

    def note(self, index: int, shown: str) -> None:
        seen = self.paths.setdefault(index, {})
        seen[shown] = seen.get(shown, 0) + 1

    def result(self) -> list[AllowanceUse]:
        return [AllowanceUse(self.allowances[i], sum(self.paths[i].values()),
                             tuple(sorted(self.paths[i])), builtin=i >= self.first_builtin)
                for i in sorted(self.paths)]


def check(document: Any, *, tainted: set[str], key: bytes | None = None,
          allow: Sequence[Allowance] = (), stamp: str | None = None,
          produced: frozenset[str] | set[str] = frozenset(),
          exact: bool = False) -> CheckResult:
    """Every finding in ``document`` (at most ``MAX_FINDINGS``), and the allowances used.

    The fast path (``leakscan``) proves most results clean a column at a time; when it
    meets a finding, or with ``exact`` (the tests compare the two), the exact walk below
    inspects every string in document order and lists the findings."""
    allowances = list(allow)
    if stamp:
        allowances.append(Allowance("timestamp", f"{stamp}.export_timestamp",
                                    "the export's own creation time"))
    hidden = _Tainted(tainted)
    key_text = key.decode("utf-8", "replace") if key else None
    fast = _Inspector(allowances, len(allow), hidden, key_text, produced)
    if not exact and not _small(document) \
            and leakscan.Scanner(hidden.heads, key_text).clean(document, fast.clean):
        return CheckResult([], fast.uses.result())
    walker = _Inspector(allowances, len(allow), hidden, key_text, produced)
    findings: list[Finding] = []
    for node, text in _strings(document, PathNode()):
        found = walker.inspect(node, text)
        if found is not None:
            findings.append(Finding(_masked_path(node.path(), hidden, key_text), *found))
            if len(findings) >= MAX_FINDINGS:
                break
    return CheckResult(findings, walker.uses.result())


class _Inspector:
    """The verdict on one string at a folded path, with the caches that make repeats
    cheap: exports repeat strings (names, labels, hashes) and paths, so a string's
    verdict where no allowance applies is computed once, and each path's allowances once."""

    def __init__(self, allowances: list[Allowance], first_builtin: int, hidden: _Tainted,
                 key_text: str | None, produced: frozenset[str] | set[str]) -> None:
        self.allowances, self.hidden, self.key_text = allowances, hidden, key_text
        self.produced = produced
        self.uses = _Uses(allowances, first_builtin)
        self.verdicts: dict[tuple[str, bool], tuple[str, str] | None] = {}
        self.allowed_at: dict[PathNode, list[int]] = {}

    def inspect(self, node: PathNode, text: str) -> tuple[str, str] | None:
        """What is wrong with ``text`` at ``node`` (a description and a masked preview)."""
        matching = self.allowed_at.get(node)
        if matching is None:
            shown = node.text()
            matching = self.allowed_at[node] = [i for i, a in enumerate(self.allowances)
                                                if a.matches(shown)]
        made = text in self.produced
        if matching:
            return _inspect(text, node, self.hidden, self.key_text, self.uses, made, matching)
        cached = (text, made)
        if cached in self.verdicts:
            return self.verdicts[cached]
        found = _inspect(text, node, self.hidden, self.key_text, self.uses, made, matching)
        if len(self.verdicts) < 2_000_000:
            self.verdicts[cached] = found
        return found

    def clean(self, node: PathNode, text: str) -> bool:
        return self.inspect(node, text) is None


def _inspect(text: str, node: PathNode, hidden: _Tainted, key_text: str | None,
             uses: _Uses, made: bool, matching: list[int]) -> tuple[str, str] | None:
    """What is wrong with ``text`` and a masked preview of it, or None. ``made``: the
    text is an output of ``hash`` or ``mask`` itself (a keyed digest, a masked value),
    which may contain a hidden value only by chance (``task_0`` in ``task_09f3…``), so
    it is not searched for hidden values; the detectors still look at it. ``matching``:
    the allowances that apply at this path."""
    if key_text and key_text in text:
        return "the hash key", detectors.mask_preview(key_text, keep=0)
    value = hidden.find(text) if hidden.values and not made else None
    if value is not None:
        return "a value the policy hid", detectors.mask_preview(value)
    if not matching:
        hit = detectors.first(text)
        if hit is not None:
            return f"detector {hit.detector}", detectors.mask_preview(text[hit.start:hit.end])
        return None
    shown = node.text()
    allowed = {uses.allowances[i].detector for i in matching}
    names = tuple(n for n in detectors.LEAK_DEFAULT if n not in allowed)
    hit = detectors.first(text, names)
    if hit is not None:
        return f"detector {hit.detector}", detectors.mask_preview(text[hit.start:hit.end])
    for i in matching:  # no finding: which allowances did that take?
        if detectors.first(text, (uses.allowances[i].detector,)) is not None:
            uses.note(i, shown)
    return None


def _small(document: Any) -> bool:
    """Whether ``document`` holds fewer than ``SMALL`` values: then building the fast
    path's automata costs more than inspecting each string (``apply --jsonl`` lines)."""
    stack, seen = [document], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen >= SMALL:
            return False
        if type(node) is dict:
            seen += len(node)  # the keys
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return seen < SMALL


def _masked_path(path: Path, hidden: _Tainted, key_text: str | None) -> str:
    """The path to show in a finding: a key that is itself sensitive (a secret, a path, a
    hidden value used as a key) is shown masked, so the message never repeats it."""
    def sensitive(part: str) -> bool:
        return bool((key_text and key_text in part) or hidden.find(part)
                    or detectors.first(part) is not None)

    return format_path(tuple(
        f"<{detectors.mask_preview(part, keep=0 if key_text and key_text in part else 4)}>"
        if isinstance(part, str) and part != WILD and sensitive(part) else part
        for part in path))


def _strings(value: Any, root: PathNode) -> Iterator[tuple[PathNode, str]]:
    """Every string in ``value`` with its interned folded path: keys and values."""
    stack: list[tuple[PathNode, Any]] = [(root, value)]
    keys_seen: set[PathNode] = set()  # a key under one folded path is the same text
    while stack:
        here, node = stack.pop()
        kind = type(node)
        if kind is str:
            yield here, node
        elif kind is dict:
            for key, item in node.items():
                child = here.child(key)
                if child not in keys_seen and type(key) is str:
                    keys_seen.add(child)
                    yield child, key
                if type(item) in (str, dict, list):
                    stack.append((child, item))
        elif kind is list:
            wild = here.child(WILD)
            stack.extend((wild, item) for item in node if type(item) in (str, dict, list))


def enforce(document: Any, **kwargs: Any) -> list[AllowanceUse]:
    """Raise ``LeakError`` when ``check`` finds anything; else return the allowances used."""
    result = check(document, **kwargs)
    findings = result.findings
    if findings:
        raise LeakError(
            f"the leak check found {len(findings)}{'+' if len(findings) >= MAX_FINDINGS else ''}"
            " sensitive value(s) in the result; nothing was written",
            findings=[f.render() for f in findings],
            hint="add rules that drop, hash or redact these paths; if a detector is wrong "
            "for a path, allow it in the policy with a reason (allow: [{detector, path, "
            "reason}])",
        )
    return result.allowances
