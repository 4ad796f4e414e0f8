"""What every action module provides, and the helpers they share.

An action module defines one ``ACTION = Action(...)``: its name, a one-line summary,
its options as a cerberus schema fragment (with defaults), an optional ``prepare`` that
turns validated options into ready-to-run parameters (compiling regexes, checking that
options agree), and either

* ``transform(value, params, ctx)``: a pure function from the matched value to its new
  value, or ``DROP`` to remove it (and, optionally, ``transform_many(values, params,
  ctx)``: the same for a whole column of values at once, the list of results in order,
  for the engine's ``list[*].field`` path; it must agree with ``transform``); or
* ``fold(params, ctx)``: for actions that combine many locations into one result
  (``aggregate``): returns a ``Folder`` that is fed every matched value (``add``), one
  at a time, so that a stream of records is never held whole, then ``finish``es.

The module docstring is the action's reference page; ``docs/policy-reference.md`` is
generated from it and every example in it is run by the test suite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class _Drop:
    """The marker a transform returns to remove the value."""

    _instance: _Drop | None = None

    def __new__(cls) -> _Drop:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()


class ActionValueError(ValueError):
    """The action cannot treat this value (the engine adds rule, path and file:line)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class OptionError(ValueError):
    """Options that are each valid but do not make sense together (raised by prepare)."""

    def __init__(self, option: str | None, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.hint = hint


HASH_LENGTH = 16  # hex characters of a hash when neither the rule nor the policy says


@dataclass
class RunContext:
    """What an action may use while it runs: the hash key and the taint log.

    ``taint(text)`` records a value the policy hid (the leak check later makes sure it
    appears nowhere in the output).
    """

    key: bytes | None = None
    hash_length: int = HASH_LENGTH
    tainted: set[str] = field(default_factory=set)
    produced: set[str] = field(default_factory=set)  # hash and mask outputs (see leakcheck)

    def taint(self, value: Any) -> None:
        if isinstance(value, str):
            self.tainted.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                self.tainted.add(k)
                self.taint(v)
        elif isinstance(value, list):
            for v in value:
                self.taint(v)
        elif value is not None and not isinstance(value, bool):
            self.tainted.add(str(value))


Transform = Callable[[Any, Any, RunContext], Any]
TransformMany = Callable[[list[Any], Any, RunContext], list[Any]]


@dataclass(frozen=True)
class FoldOutcome:
    """What a folding action asks of the engine: values to write (at paths), and notes
    for the report (counts only)."""

    writes: list[tuple[tuple[str, ...], Any]]
    notes: dict[str, int] = field(default_factory=dict)


class Folder(Protocol):
    """Fed with ``add(value)`` per matched location (a list gives its records); a folder
    may also offer ``add_record(record)``, which the engine calls per record of a stream."""

    drop_sources: bool  # remove the matched locations after folding them

    def add(self, value: Any) -> None: ...

    def finish(self) -> FoldOutcome: ...


@dataclass(frozen=True)
class Action:
    """One action a rule can name."""

    name: str
    summary: str
    treatment: str  # what explain says of a value this action treats, e.g. "hashed"
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    transform: Transform | None = None
    transform_many: TransformMany | None = None
    fold: Callable[[Any, RunContext], Folder] | None = None
    prepare: Callable[[dict[str, Any]], Any] = dict
    doc: str = ""

    def __post_init__(self) -> None:
        if (self.transform is None) == (self.fold is None):
            raise TypeError(f"action {self.name}: give exactly one of transform and fold")


def compact_json(value: Any) -> str:
    """The canonical text of a non-string value (sorted keys, no spaces)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def type_name(value: Any) -> str:
    """A JSON-ish name for a Python value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def as_number(value: Any) -> tuple[float | int, bool] | None:
    """``(number, was_text)`` for numbers and numeric text; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value, False
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if number != number or number in (float("inf"), float("-inf")):
            return None
        return (int(number) if number.is_integer() and "." not in value else number), True
    return None
