"""Cerberus schemas: loading the shipped ones, and turning failures into plain problems.

Schemas live in ``schemas/<name>.yaml`` (shipped as the package ``learnexport.schemas``).
Cerberus reports failures as a tree of error objects; ``problems()`` flattens it into one
line per failure with the document path, what is wrong and what to do.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import cerberus
import yaml
from cerberus import errors as cerr

from . import detectors
from .actions.base import type_name
from .errors import SchemaCheckError, did_you_mean
from .paths import Path, format_path


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    hint: str | None = None

    def render(self) -> str:
        text = f"{format_path(self.path)}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


def schema_names() -> list[str]:
    files = resources.files("learnexport.schemas").iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".yaml"))


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.yaml`` as a dict (cached)."""
    if name not in schema_names():
        raise KeyError(name)
    text = resources.files("learnexport.schemas").joinpath(f"{name}.yaml").read_text("utf-8")
    schema = yaml.safe_load(text)
    schema.pop("_defs", None)  # YAML anchors for reuse inside the file, not a field
    base = schema.pop("_extends", None)
    return _merge(copy.deepcopy(load_schema(base)), schema) if base else schema


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base``: objects recursively, anything else replaced."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and "type" not in value:
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def validator(schema: dict[str, Any], allow_unknown: bool = False) -> cerberus.Validator:
    return cerberus.Validator(schema, allow_unknown=allow_unknown)


_PER_THREAD = threading.local()


def _checker(schema_name: str) -> cerberus.Validator:
    """One validator per schema and thread: building one (checking the schema itself)
    cost about a third of each check, and aggregate checks thousands of exports; a
    validator keeps state while it validates, so threads (Dask workers) each have theirs."""
    cache = _PER_THREAD.__dict__.setdefault("validators", {})
    if schema_name not in cache:
        cache[schema_name] = cerberus.Validator(load_schema(schema_name))
    return cache[schema_name]


def check(document: Any, schema_name: str) -> None:
    """Raise ``SchemaCheckError`` listing every failure of ``document``."""
    try:
        checker = _checker(schema_name)
    except KeyError:
        raise SchemaCheckError(
            f"unknown schema '{schema_name}'{did_you_mean(schema_name, schema_names())}",
            hint=f"known schemas: {', '.join(schema_names())}",
        ) from None
    if not isinstance(document, dict):
        raise SchemaCheckError(f"the result is {type_name(document)}, not an object",
                               problems=[f"@: schema {schema_name} describes an object"])
    if checker.validate(document):
        return
    found = [p.render() for p in problems(checker, mask=True)]
    raise SchemaCheckError(
        f"the result does not pass schema {schema_name} ({len(found)} problem"
        f"{'s' if len(found) != 1 else ''})",
        problems=found[:50] + ([f"... and {len(found) - 50} more"] if len(found) > 50 else []),
        count=len(found),
        hint="fix the policy so that its result has this shape, or name another schema",
    )


def problems(checker: cerberus.Validator, mask: bool = False) -> list[Problem]:
    """Every leaf failure of the last validation, in document order. ``mask``: show text
    values as a masked preview (a failing export may hold a secret: its schema check runs
    before the leak check, and its message must not repeat the secret)."""
    show = _masked if mask else repr
    out = [_describe(e, checker.schema, show) for e in _leaves(checker._errors)]
    return sorted(out, key=lambda p: [str(part) for part in p.path])


def _leaves(errors: list[Any]) -> Iterator[Any]:
    for error in errors:
        if error.is_group_error:
            yield from _leaves(error.child_errors)
        else:
            yield error


def _meta(schema: dict[str, Any], error: Any) -> dict[str, Any]:
    """The ``meta`` (message, hint) of the rule that ``error`` broke, or {}."""
    return _sub_schema(schema, (*tuple(error.schema_path)[:-1], "meta")) or {}


def _sub_schema(schema: Any, schema_path: tuple[Any, ...]) -> Any:
    node = schema
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _masked(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 8:
        return f"'{detectors.mask_preview(value)}'"
    return repr(value)


def _describe(error: Any, schema: Any, show: Any = repr) -> Problem:
    path = tuple(error.document_path)
    value, constraint, code = error.value, error.constraint, error.code
    field = str(path[-1]) if path else "document"
    if code == cerr.UNKNOWN_FIELD.code:
        known = _sub_schema(schema, tuple(error.schema_path))
        choices = sorted(known) if isinstance(known, Mapping) else []
        return Problem(path, f"unknown key '{field}'{did_you_mean(field, choices)}",
                       f"remove it; allowed here: {', '.join(choices)}" if choices else "remove it")
    if code == cerr.REQUIRED_FIELD.code:
        return Problem(path, f"missing required key '{field}'", "add it")
    if code == cerr.BAD_TYPE.code:
        wanted = " or ".join(constraint) if isinstance(constraint, list) else constraint
        return Problem(path, f"must be {_article(wanted)}, not {type_name(value)}",
                       _TYPE_HINTS.get(str(wanted), f"write {_article(str(wanted))} here"))
    if code == cerr.UNALLOWED_VALUE.code:
        shown = ", ".join(map(str, constraint))
        close = did_you_mean(str(value), map(str, constraint))
        return Problem(path, f"{show(value)} is not allowed{close}", f"use one of: {shown}")
    if code == cerr.REGEX_MISMATCH.code:
        meta = _meta(schema, error)
        return Problem(path, f"{show(value)} {meta.get('message', f'does not match {constraint}')}",
                       meta.get("hint"))
    if code in (cerr.MIN_VALUE.code, cerr.MAX_VALUE.code):
        word = "at least" if code == cerr.MIN_VALUE.code else "at most"
        return Problem(path, f"must be {word} {constraint}, not {show(value)}",
                       f"use {constraint} or {'more' if word == 'at least' else 'less'}")
    if code in (cerr.MIN_LENGTH.code, cerr.MAX_LENGTH.code):
        word = "at least" if code == cerr.MIN_LENGTH.code else "at most"
        unit = "characters" if isinstance(value, str) else "items"
        meta = _meta(schema, error)
        if "message" in meta:  # the schema's own words (a reason too short to audit)
            return Problem(path, f"{show(value)} {meta['message']} ({len(value)} {unit}; "
                           f"{word} {constraint})", meta.get("hint"))
        return Problem(path, f"must have {word} {constraint} {unit}, not {len(value)}")
    if code == cerr.NOT_NULLABLE.code:
        return Problem(path, "must not be null", "give a value or remove the key")
    if code == cerr.EMPTY_NOT_ALLOWED.code:
        return Problem(path, "must not be empty")
    message = cerberus.errors.BasicErrorHandler.messages.get(code, "is not valid")
    return Problem(path, message.format(constraint=constraint, value=value, field=field))


_TYPE_HINTS = {
    "string": "quote it if YAML read it as something else, e.g. version: \"1.0.0\"",
    "dict": "write key: value pairs indented under it",
    "list": "write the items as a list, one '- item' per line or [a, b]",
    "integer": "write a whole number without quotes",
    "boolean": "write true or false without quotes",
}


def _article(word: str) -> str:
    names = {"integer": "an integer", "number": "a number", "string": "text", "list": "a list",
             "dict": "an object", "boolean": "a boolean (true/false)", "float": "a number"}
    return names.get(word, word)
