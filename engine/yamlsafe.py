"""Safe YAML loading that remembers where every value came from.

PyYAML's composer builds a node tree with line/column marks; this module constructs
plain Python data from it (safe tags only) and keeps a map from each document path to
its mark, so an error about ``rules[3].length`` can point at ``policy.yaml:14:13``.

Refused with a clear error instead of silently accepted: duplicate keys (PyYAML keeps the
last one), non-string keys, more than one document, alias expansion beyond a node budget
(the "billion laughs" bomb), nesting deeper than ``MAX_DEPTH``, bytes that are not UTF-8,
and ``.inf``/``.nan`` (no JSON document or export can carry them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from .columns import MAX_DEPTH  # one limit for JSON and YAML
from .errors import Location
from .paths import Path

MAX_NODES = 200_000


class YamlProblem(ValueError):
    """A YAML text that cannot be loaded; ``line``/``column`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.line = line
        self.column = column
        self.hint = hint


@dataclass
class Marks:
    """Where each value (and each mapping key) stands in the file."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path, *, key: bool = False) -> Location:
        """The location of ``path`` or, failing that, of its nearest ancestor."""
        table = self.keys if key else self.values
        probe = path
        while probe not in table and probe:
            probe = probe[:-1]
            table = self.values
        line, col = table.get(probe, (1, 1))
        return Location(self.file, line, col)


def load(text: str | bytes, file: str) -> tuple[Any, Marks]:
    """Load one YAML document; returns the data and its marks."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            raise YamlProblem(
                f"not UTF-8 text (byte 0x{text[exc.start]:02x} at offset {exc.start})",
                line=line,
                hint="save the file as UTF-8",
            ) from None
    marks = Marks(file)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(
            f"not valid YAML: {exc.problem or exc.context}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="check the indentation and quoting around this place",
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem(
            "nested too deeply to read", hint=f"keep nesting to {MAX_DEPTH} levels at most"
        ) from None
    if not nodes:
        return None, marks
    if len(nodes) > 1:
        start = nodes[1].start_mark
        raise YamlProblem(
            "more than one YAML document (a second '---')",
            line=start.line + 1,
            column=start.column + 1,
            hint="keep one document per file",
        )
    builder = _Builder(marks)
    return builder.build(nodes[0], (), 1), marks  # the top container is level 1


class _Builder:
    def __init__(self, marks: Marks) -> None:
        self.marks = marks
        self.count = 0
        self.scalars = yaml.SafeLoader("")  # its constructor resolves scalar tags safely

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._problem(node, f"expands to more than {MAX_NODES} values "
                                "(an alias bomb?)", "remove the anchors and aliases")
        if depth > MAX_DEPTH and isinstance(node, yaml.CollectionNode):  # (as JSON counts)
            raise self._problem(node, f"nested deeper than {MAX_DEPTH} levels",
                                "flatten the structure")
        mark = node.start_mark
        self.marks.values.setdefault(path, (mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            value = self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self._problem(node, f"cannot read this value: {exc}", None) from None
        if type(value) is float and not math.isfinite(value):
            raise self._problem(node, f"{node.value} is not a finite number (JSON has no "
                                "infinity or NaN)", "write a finite number")
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.scalars.flatten_mapping(node)  # resolves '<<' merge keys
        for key_node, value_node in node.value:
            key = self.build(key_node, (*path, "<key>"), depth + 1)
            if not isinstance(key, str):
                raise self._problem(key_node, f"a key must be text, not {type(key).__name__} "
                                    f"{key!r}", "quote the key")
            if key in out:
                raise self._problem(key_node, f"duplicate key '{key}'",
                                    "remove one of the two; YAML would silently keep the last")
            mark = key_node.start_mark
            self.marks.keys[(*path, key)] = (mark.line + 1, mark.column + 1)
            out[key] = self.build(value_node, (*path, key), depth + 1)
        return out

    @staticmethod
    def _problem(node: yaml.Node, message: str, hint: str | None) -> YamlProblem:
        mark = node.start_mark
        return YamlProblem(message, line=mark.line + 1, column=mark.column + 1, hint=hint)
