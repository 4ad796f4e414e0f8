"""Loading a policy: YAML → checked, compiled, frozen model.

One loader serves ``apply``, ``export``, ``policy test``, ``lint``, ``explain`` and
``diff``. It reads the file safely (``yamlsafe``), checks its shape against
``schemas/policy-1.yaml``, checks each rule's options against its action's own schema,
compiles every selector once and prepares every action's parameters. Every problem is a
``PolicyError`` pointing at ``file:line:column`` and the rule; all problems found are
reported together, so one edit–run cycle fixes them all.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import cerberus

from . import schemacheck, yamlsafe
from .actions import REGISTRY, Action, OptionError
from .actions.base import HASH_LENGTH
from .errors import Location, PolicyError, did_you_mean
from .leakcheck import Allowance
from .recordplan import RecordPlan, plan
from .selectors import Selector, SelectorSyntaxError, compile_selector

MAX_POLICY_BYTES = 1_000_000
BASE_RULE_KEYS = ("id", "select", "action", "note")


@dataclass(frozen=True)
class Rule:
    id: str
    action: str
    select: str
    selector: Selector = field(repr=False, compare=False)
    options: Mapping[str, Any]  # as written (with defaults), for diff and explain
    params: Any = field(repr=False, compare=False)  # prepared by the action
    note: str | None = None
    location: Location | None = field(default=None, compare=False)
    plan: RecordPlan | None = field(default=None, repr=False, compare=False)

    @property
    def impl(self) -> Action:
        return REGISTRY[self.action]


@dataclass(frozen=True)
class HashConfig:
    key: str | None = None  # "env:NAME" or "file:PATH"; None: the caller's default
    length: int = HASH_LENGTH


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    rules: tuple[Rule, ...]
    description: str = ""
    schema: str | None = None
    unmatched: str = "drop"
    hash: HashConfig = HashConfig()
    stamp: str | None = None
    allow: tuple[Allowance, ...] = ()
    source: str = "<policy>"
    sha256: str = ""
    base_dir: FsPath | None = None  # the policy file's folder (for file: keys)
    where: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    @functools.cached_property
    def literals(self) -> frozenset[str]:
        """Every text the policy itself writes in its rules' options (allow lists, labels,
        constants): public by definition, so the leak check does not search them for
        hidden values (a custom agent 'review' hidden as 'custom' is no leak in the
        framework name 'reviewer' that an allow list keeps)."""
        found: set[str] = set()
        stack: list[Any] = [dict(rule.options) for rule in self.rules]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                found.add(item)
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return frozenset(found)


class PolicyProblems(PolicyError):
    """All problems of one policy file; renders one per line."""

    def __init__(self, found: list[PolicyError]) -> None:
        first = found[0]
        super().__init__(first.message, hint=first.hint, location=first.location,
                         rule=first.rule, path=first.path)
        self.found = found

    def render(self) -> str:
        return "\n".join(PolicyError.render(p) for p in self.found)


def load_policy(path: str | FsPath) -> Policy:
    """Read, check and compile the policy at ``path``."""
    shown = str(path)
    raw = _read(FsPath(path), shown)
    return parse_policy(raw, shown, base_dir=FsPath(path).resolve().parent)


def parse_policy(raw: bytes | str, shown: str = "<policy>",
                 base_dir: FsPath | None = None) -> Policy:
    """Check and compile policy text (``shown`` names it in errors)."""
    data_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    try:
        data, marks = yamlsafe.load(data_bytes, shown)
    except yamlsafe.YamlProblem as exc:
        raise PolicyError(str(exc), hint=exc.hint,
                          location=Location(shown, exc.line, exc.column)) from None
    if not isinstance(data, dict):
        raise PolicyError(
            "a policy is a YAML mapping, and this file holds "
            + ("nothing" if data is None else type(data).__name__),
            hint="start from policies/default.yaml: policy, version and rules are required",
            location=Location(shown, 1, 1),
        )
    lines = data_bytes.decode("utf-8").splitlines()
    compiler = _Compiler(shown, marks, base_dir, lines)
    return compiler.compile(data, hashlib.sha256(data_bytes).hexdigest())


def _read(path: FsPath, shown: str) -> bytes:
    where = Location(shown)
    try:
        if path.is_dir():
            raise PolicyError("is a folder, not a policy file", location=where,
                              hint="name the .yaml file inside it")
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError(f"is {size} bytes; a policy is at most {MAX_POLICY_BYTES}",
                              location=where, hint="is this the right file?")
        return path.read_bytes()
    except FileNotFoundError:
        raise PolicyError("no such policy file", location=where,
                          hint="check the path; shipped policies are in policies/") from None
    except PermissionError:
        raise PolicyError("cannot be read (permission denied)", location=where,
                          hint=f"check its permissions: ls -l {shown}") from None
    except OSError as exc:
        raise PolicyError(f"cannot be read: {exc.strerror}", location=where) from None


@functools.cache
def _top_schema() -> dict[str, Any]:
    return schemacheck.load_schema("policy-1")


@functools.cache
def _rule_validator(action: str) -> cerberus.Validator:
    """The action's options; the keys every rule has are the top schema's to check (here
    they are only known, so that they are not 'unknown')."""
    base = _top_schema()["rules"]["schema"]["schema"]
    return cerberus.Validator({**{key: {} for key in base}, **REGISTRY[action].options})


class _Compiler:
    def __init__(self, shown: str, marks: yamlsafe.Marks, base_dir: FsPath | None,
                 lines: list[str]) -> None:
        self.shown = shown
        self.lines = lines
        self.marks = marks
        self.base_dir = base_dir
        self.found: list[PolicyError] = []

    def problem(self, path: tuple[Any, ...], message: str, hint: str | None = None,
                rule: str | None = None, key: bool = False) -> None:
        self.found.append(PolicyError(message, hint=hint, rule=rule,
                                      location=self.marks.at(path, key=key)))

    def compile(self, data: dict[str, Any], sha256: str) -> Policy:
        checker = cerberus.Validator(_top_schema())
        if not checker.validate(data):
            for p in schemacheck.problems(checker):
                unknown = p.message.startswith("unknown key")
                self.problem(p.path, p.message, p.hint, self._rule_id(data, p.path), key=unknown)
        doc = checker.document if not self.found else data
        self._check_schema_name(doc.get("schema"))
        rules = tuple(self._rules(doc.get("rules") if isinstance(doc.get("rules"), list) else []))
        if self.found:
            raise PolicyProblems(sorted(self.found, key=lambda e: (e.location.line or 0)
                                        if e.location else 0))
        hash_conf = doc.get("hash") or {}
        return Policy(
            id=doc["policy"], version=doc["version"], rules=rules,
            description=doc.get("description", ""), schema=doc.get("schema"),
            unmatched=doc.get("unmatched", "drop"),
            hash=HashConfig(hash_conf.get("key"), hash_conf.get("length", HASH_LENGTH)),
            stamp=doc.get("stamp"),
            allow=tuple(Allowance(a["detector"], a["path"], a["reason"])
                        for a in doc.get("allow", [])),
            source=self.shown, sha256=sha256, base_dir=self.base_dir,
            where={name: self.marks.at(tuple(name.split("."))) for name in
                   ("policy", "unmatched", "schema", "stamp", "hash.key")},
        )

    def _check_schema_name(self, name: Any) -> None:
        if isinstance(name, str) and name not in schemacheck.schema_names():
            known = [n for n in schemacheck.schema_names() if n != "policy-1"]
            self.problem(("schema",), f"unknown schema '{name}'{did_you_mean(name, known)}",
                         f"name one of: {', '.join(known)}")

    @staticmethod
    def _rule_id(data: dict[str, Any], path: tuple[Any, ...]) -> str | None:
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
            rules = data.get("rules")
            if isinstance(rules, list) and path[1] < len(rules):
                rule = rules[path[1]]
                if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                    return rule["id"]
        return None

    def _rules(self, raw_rules: list[Any]) -> list[Rule]:
        out: list[Rule] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            if not isinstance(raw, dict):
                continue  # already reported by the top-level check
            rule = self._rule(index, raw)
            if rule is None:
                continue
            if rule.id in seen:
                self.problem(("rules", index, "id"), f"duplicate rule id '{rule.id}' (first "
                             f"used on line {seen[rule.id]})", "give each rule its own id",
                             rule=rule.id)
            seen.setdefault(rule.id, self.marks.at(("rules", index)).line or 0)
            out.append(rule)
        return out

    def _rule(self, index: int, raw: dict[str, Any]) -> Rule | None:
        rule_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        here = ("rules", index)
        action = raw.get("action")
        if not isinstance(action, str) or not isinstance(raw.get("select"), str):
            return None  # the top-level check reported it
        if action not in REGISTRY:
            self.problem((*here, "action"), f"unknown action '{action}'"
                         f"{did_you_mean(action, REGISTRY)}",
                         f"use one of: {', '.join(REGISTRY)}", rule=rule_id)
            return None
        checker = _rule_validator(action)
        if not checker.validate(raw):
            for p in schemacheck.problems(checker):
                message, hint = p.message, p.hint
                if message.startswith("unknown key"):
                    name = str(p.path[-1])
                    allowed = [k for k in REGISTRY[action].options]
                    message = (f"unknown option '{name}' for action {action}"
                               f"{did_you_mean(name, [*allowed, *BASE_RULE_KEYS])}")
                    hint = (f"the options of {action} are {', '.join(allowed)}" if allowed
                            else f"the action {action} takes no options")
                self.problem((*here, *p.path), message, hint, rule=rule_id,
                             key=message.startswith("unknown"))
            return None
        options = {k: v for k, v in checker.document.items() if k not in BASE_RULE_KEYS}
        selector = self._selector(here, raw["select"], rule_id)
        params = self._prepare(here, action, options, rule_id)
        if selector is None or params is None or rule_id is None:
            return None
        return Rule(id=rule_id, action=action, select=raw["select"], selector=selector,
                    options=options, params=params, note=raw.get("note"),
                    location=self.marks.at(here), plan=plan(selector))

    def _selector(self, here: tuple[Any, ...], text: str, rule_id: str | None) -> Selector | None:
        try:
            return compile_selector(text)
        except SelectorSyntaxError as exc:
            loc = self.marks.at((*here, "select"))
            column = loc.column
            if exc.offset is not None and column is not None:
                column += exc.offset + (1 if self._quoted(loc) else 0)
            self.found.append(PolicyError(f"selector {text!r}: {exc}", hint=exc.hint,
                                          rule=rule_id,
                                          location=Location(loc.file, loc.line, column)))
            return None

    def _quoted(self, loc: Location) -> bool:
        try:
            return self.lines[(loc.line or 1) - 1][(loc.column or 1) - 1] in ("'", '"')
        except IndexError:
            return False

    def _prepare(self, here: tuple[Any, ...], action: str, options: dict[str, Any],
                 rule_id: str | None) -> Any:
        try:
            return REGISTRY[action].prepare(options)
        except OptionError as exc:
            where = (*here, exc.option) if exc.option else (*here, "action")
            self.problem(where, str(exc), exc.hint, rule=rule_id, key=exc.option is not None)
            return None
