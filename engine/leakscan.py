"""The leak check's fast path: prove a result clean a column of strings at a time.

The exact check (``leakcheck``) inspects one string at a time, a few microseconds each:
seconds on 100,000 records. Most strings of most results are clean, and proving that
needs no Python step per string:

* the strings are gathered by folded path, a whole level of the document at once: a
  column of 100,000 values is taken with ``map``, not a loop (``gather``);
* every detector match contains one of the detector's *anchors* (plain literals, ``@``
  for an e-mail address; the detector tests check it): one Aho-Corasick automaton looks
  for all of them in a batch of joined, ASCII-lower-cased strings;
* a hidden value that occurs in a string has its head (its first few characters) there
  too (``leakcheck._Tainted``): a second automaton looks for the heads;
* the hash key is looked for with ``in``.

A batch without a hit is clean, every string in it. The strings of a batch with a hit go
one by one through the caller's exact inspection (which also counts the allowances
used); the first finding ends the scan, and the caller then runs the exact check over
the whole document, so a failing run reports what it always did, in the same order.
The automata are ``ahocorasick_rs`` (the Rust aho-corasick crate): a scan costs about
as much as copying the text once.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, chain
from typing import Any

from ahocorasick_rs import BytesAhoCorasick, Implementation

from .columns import columns, split_kinds
from .detectors import DETECTORS, LEAK_DEFAULT
from .paths import WILD, PathNode

BATCH = 4096  # strings scanned together
DFA_HEADS = 20_000

# every anchor of the leak check's detectors; and a dot before any non-ASCII character
# (the first byte of its UTF-8 form), since ``ip`` reads octets with ``\d``, which takes
# every script's digits (``١.١.١.١``), and no list of literals can name them all
ANCHORS = sorted({a.encode() for name in LEAK_DEFAULT for a in DETECTORS[name].anchors}
                 | {b"." + bytes([lead]) for lead in range(0xC2, 0xF5)})

Inspect = Callable[[PathNode, str], bool]  # True: the string is clean


def gather(document: Any, root: PathNode) -> Iterator[tuple[PathNode, list[str]]]:
    """Every string of ``document``, keys included, grouped by folded path (a key once
    per folded path, as the exact check yields it). A level of the document is handled
    at once: all values under one folded path form one list."""
    stack: list[tuple[PathNode, list[Any], set[type] | None]] = [(root, [document], None)]
    keys_seen: set[PathNode] = set()  # a key "[*]" folds onto its list's node: once there
    while stack:
        node, values, kinds = stack.pop()
        strings, dicts, lists = split_kinds(values, kinds)
        if strings:
            yield node, strings
        if dicts:
            for key, column, types in columns(dicts):
                child = node.child(key)
                if type(key) is str and child not in keys_seen:
                    keys_seen.add(child)
                    yield child, [key]
                stack.append((child, column, types))
        if lists:
            stack.append((node.child(WILD), list(chain.from_iterable(lists)), None))


class Scanner:
    """The automata of one run: the detectors' anchors, and the hidden values' heads."""

    def __init__(self, heads: Iterable[str], key_text: str | None) -> None:
        # a DFA: some anchors are one byte long, so no prefilter can skip ahead, and a DFA
        # steps through the text about twice as fast as the default NFA (0.04 s against
        # 0.08 s on 30 MB); for so few anchors it is built in well under a millisecond
        self.anchors = BytesAhoCorasick(ANCHORS, implementation=Implementation.DFA)
        # the heads as they are: folding their case would make names hit ordinary words
        encoded = [head.encode("utf-8", "surrogatepass") for head in heads]
        # a DFA scans about twice as fast but takes longer to build: worth it up to
        # some ten thousand heads (measured: 15,000 heads 0.017 s, 100,000 heads 1.2 s)
        kind = Implementation.DFA if len(encoded) <= DFA_HEADS else None
        self.heads = BytesAhoCorasick(encoded, implementation=kind) if encoded else None
        self.key_text = key_text

    def clean(self, document: Any, inspect: Inspect) -> bool:
        """Whether ``document`` is clean; ``inspect`` decides each string of a batch with
        a hit (and returns False on a finding, which ends the scan)."""
        texts: list[str] = []
        spans: list[tuple[PathNode, int]] = []  # each node with the index of its first text
        for node, strings in gather(document, PathNode()):
            for start in range(0, len(strings), BATCH):
                part = strings[start:start + BATCH] if len(strings) > BATCH else strings
                spans.append((node, len(texts)))
                texts.extend(part)
                if len(texts) >= BATCH:
                    if not self._batch(texts, spans, inspect):
                        return False
                    texts, spans = [], []
        return not texts or self._batch(texts, spans, inspect)

    def _batch(self, texts: list[str], spans: list[tuple[PathNode, int]],
               inspect: Inspect) -> bool:
        hits = self._hits(texts)
        if not hits:
            return True
        ends = [start for _, start in spans[1:]] + [len(texts)]
        for (node, start), end in zip(spans, ends, strict=True):
            for index in range(start, end):
                if index in hits and not inspect(node, texts[index]):
                    return False
        return True

    def _hits(self, texts: list[str]) -> set[int]:
        """The indexes of the strings that may hold a finding: an anchor, a hidden value's
        head or the key in them. The batch is scanned joined by newlines; a match that
        spans strings marks each (so a match it hides, overlapping it, is not missed)."""
        joined = "\n".join(texts)
        data = joined.encode("utf-8", "surrogatepass")
        found = self.anchors.find_matches_as_indexes(data.lower())
        if self.heads is not None:
            found += self.heads.find_matches_as_indexes(data)
        keyed = bool(self.key_text) and self.key_text in joined  # type: ignore[operator]
        if not found and not keyed:
            return set()
        if keyed:
            return set(range(len(texts)))
        sizes = map(len, texts) if len(data) == len(joined) else (
            len(t.encode("utf-8", "surrogatepass")) for t in texts)
        starts = [0, *accumulate(size + 1 for size in sizes)]  # each string's first byte
        hits: set[int] = set()
        for _, begin, end in found:
            first, last = bisect_right(starts, begin) - 1, bisect_right(starts, end - 1) - 1
            hits.update(range(first, last + 1))
        return hits
