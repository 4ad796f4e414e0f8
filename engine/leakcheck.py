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

A finding names the path and the detector or rule, with a masked preview: the failure
message never repeats the secret. What ``drop`` removed is not tainted (a dropped field
may repeat a value legitimately kept elsewhere); the detectors catch a dropped secret
that resurfaces under another key.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import detectors
from .errors import LeakError
from .paths import WILD, Path, format_path

MIN_TAINT = 4
MAX_FINDINGS = 20


@dataclass(frozen=True)
class Allowance:
    """A detector allowed on the paths matching ``path`` (folded, ``*`` globs)."""

    detector: str
    path: str
    reason: str


@dataclass(frozen=True)
class Finding:
    path: str
    what: str  # "detector <name>", "hidden value", "hash key"
    preview: str

    def render(self) -> str:
        return f"{self.path}: {self.what} ({self.preview})"


class _Tainted:
    """Substring search for many hidden values at once: each string is probed at every
    offset for each distinct length of the hidden values (set lookups, no regex)."""

    def __init__(self, values: set[str]) -> None:
        self.values = {v for v in values if len(v) >= MIN_TAINT}
        self.lengths = sorted({len(v) for v in self.values})

    def find(self, text: str) -> str | None:
        values, size = self.values, len(text)
        for length in self.lengths:
            if length > size:
                break
            for start in range(size - length + 1):
                if text[start:start + length] in values:
                    return text[start:start + length]
        return None


def check(document: Any, *, tainted: set[str], key: bytes | None = None,
          allow: Sequence[Allowance] = (), stamp: str | None = None) -> list[Finding]:
    """Every finding in ``document`` (at most ``MAX_FINDINGS``)."""
    allowances = list(allow)
    if stamp:
        allowances.append(Allowance("timestamp", f"{stamp}.export_timestamp",
                                    "the export's own creation time"))
    hidden = _Tainted(tainted)
    key_text = key.decode("utf-8", "replace") if key else None
    findings: list[Finding] = []
    for path, text in strings(document):
        finding = _inspect(text, path, hidden, key_text, allowances)
        if finding is not None:
            findings.append(finding)
            if len(findings) >= MAX_FINDINGS:
                break
    return findings


def _inspect(text: str, path: Path, hidden: _Tainted, key_text: str | None,
             allowances: list[Allowance]) -> Finding | None:
    shown = format_path(path)
    if key_text and key_text in text:
        return Finding(shown, "the hash key", detectors.mask_preview(key_text))
    value = hidden.find(text) if hidden.values else None
    if value is not None:
        return Finding(shown, "a value the policy hid", detectors.mask_preview(value))
    names = _active(shown, allowances)
    hit = detectors.first(text, names)
    if hit is not None:
        return Finding(shown, f"detector {hit.detector}",
                       detectors.mask_preview(text[hit.start:hit.end]))
    return None


def _active(shown: str, allowances: list[Allowance]) -> tuple[str, ...]:
    allowed = {a.detector for a in allowances if fnmatch.fnmatchcase(shown, a.path)}
    return tuple(n for n in detectors.LEAK_DEFAULT if n not in allowed)


def strings(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string in ``value`` with its folded path: keys (at the key's path) and values."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, str):
            yield here, node
        elif isinstance(node, dict):
            for key, item in node.items():
                yield (*here, key), key
                stack.append(((*here, key), item))
        elif isinstance(node, list):
            stack.extend(((*here, WILD), item) for item in node)


def enforce(document: Any, **kwargs: Any) -> None:
    """Raise ``LeakError`` when ``check`` finds anything."""
    findings = check(document, **kwargs)
    if findings:
        raise LeakError(
            f"the leak check found {len(findings)}{'+' if len(findings) >= MAX_FINDINGS else ''}"
            " sensitive value(s) in the result; nothing was written",
            findings=[f.render() for f in findings],
            hint="add rules that drop, hash or redact these paths; if a detector is wrong "
            "for a path, allow it in the policy with a reason (allow: [{detector, path, "
            "reason}])",
        )
