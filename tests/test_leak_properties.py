"""Nothing leaks: property tests of the default policy on generated projects.

Each example is a project folder written in the framework's real formats and file names
(docs/collected-document.md), small but complete: capabilities, patterns, memories,
analytics history, the three learning logs and config.yaml. Its free-form fields
(``context``, ``metadata``, ``key_learnings``, ``failure_reasons``, ``query``,
``command``, ``reason``, refinement ``metadata``) hold arbitrary nested structures with
sensitive values (paths, e-mails, keys and tokens, JWTs, private keys, passwords,
credential URLs, IP addresses, code, times of day, customer names) planted at random
depths, under random keys, inside longer strings and as keys; names that come from user
code or customers (custom capability, agent and workflow names, pattern and workflow
ids, file paths) are planted too. For every example, ``exporter.prepare`` with the
default policy must

* pass the schema check and the leak check (it raises otherwise), and the detectors
  again when the written bytes are checked from outside;
* contain none of the planted values, by a plain substring search written here, over
  every string of the output, keys included;
* leave ``.tapps-agents/`` unchanged outside ``exports/``;
* give the same bytes when run twice with the same key.

Profiles (tests/conftest.py): ``ci`` (the default) runs 500 examples, ``deep`` 20,000:
``HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest -q tests/test_leak_properties.py``
(docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from learnexport import exporter, leakcheck

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or "ci"
# thousands of tiny projects: on a RAM disk where there is one (only faster, same code path)
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
NOW = dt.datetime(2026, 2, 1, 12, 0, 0, tzinfo=dt.UTC)

LOWER = "abcdefghijklmnopqrstuvwxyz"
ALNUM = LOWER + LOWER.upper() + "0123456789"
B64 = ALNUM + "+/"
FRAMEWORK_CAPS = ("code_generation", "code_review", "testing", "documentation", "debugging")
AGENTS = ("reviewer", "implementer", "tester", "debugger", "planner")
WORKFLOWS = ("rapid", "full-sdlc", "quality", "bugfix")
PATTERN_TYPES = ("function", "class", "import", "structure")
IMPROVEMENTS = ("prompt_optimization", "pattern_learning", "feedback_loop")
VULNERABILITIES = ("sql-injection", "xss", "hardcoded-secret", "path-traversal")
OUTCOMES = ("success", "failure", "partial", "cancelled")

# ---- sensitive values -------------------------------------------------------------------

word = st.text(LOWER, min_size=4, max_size=8)
segment = st.text(LOWER + "0123456789_-", min_size=3, max_size=10)
user = st.builds("{}.{}".format, word, word)
password = st.text(ALNUM + "!#%*", min_size=10, max_size=16)
octet = st.integers(1, 254)
ipv4 = st.builds("{}.{}.{}.{}".format, octet, octet, octet, octet)
hexgroup = st.text("0123456789abcdef", min_size=1, max_size=4)
ipv6 = st.builds("fe80::{}:{}:{}".format, hexgroup, hexgroup, hexgroup)
ident = st.from_regex(r"[a-z][a-z_]{3,10}", fullmatch=True)
classname = st.from_regex(r"[A-Z][a-z]{3,8}[A-Z][a-z]{2,8}", fullmatch=True)
# a customer or product name: not a path, key or code shape; only the policy keeps it out
customer = st.builds("{}_{}_{}".format, word, word, word)


def _ts(day: int, second: int, micro: int, aware: bool) -> str:
    stamp = (dt.datetime(2026, 1, 5) + dt.timedelta(days=day, seconds=second,
                                                     microseconds=micro)).isoformat()
    return stamp + ("+00:00" if aware else "")


timestamp = st.builds(_ts, st.integers(0, 3), st.integers(1, 86_399),
                      st.integers(1, 999_999), st.booleans())

SENSITIVE = st.one_of(
    st.builds("/home/{}/{}/{}.py".format, user, segment, segment),
    st.builds("/Users/{}/Developer/{}/{}".format, user, segment, segment),
    st.builds("C:\\Users\\{}\\source\\repos\\{}\\{}.py".format, user, segment, segment),
    st.builds("~/{}/{}/{}.py".format, segment, segment, segment),
    st.builds("{}@{}-{}.com".format, user, word, word),
    st.builds("AKIA{}".format, st.text(LOWER.upper() + "234567", min_size=16, max_size=16)),
    st.builds("{}{}".format, st.sampled_from(["ghp_", "gho_"]),
              st.text(ALNUM, min_size=36, max_size=36)),
    st.builds("sk-{}7{}".format, st.text(ALNUM, min_size=20, max_size=24),
              st.text(ALNUM, min_size=20, max_size=24)),
    st.builds("eyJ{}.eyJ{}.{}".format, st.text(ALNUM, min_size=10, max_size=30),
              st.text(ALNUM, min_size=10, max_size=40),
              st.text(ALNUM + "-_", min_size=20, max_size=43)),
    st.builds("-----BEGIN RSA PRIVATE KEY-----\nMIIE{}\n-----END RSA PRIVATE KEY-----".format,
              st.text(B64, min_size=40, max_size=64)),
    st.builds("password={}".format, password),
    st.builds("https://{}:{}@{}.{}.io/{}.git".format, word, password, word, word, segment),
    st.builds("postgresql://{}:{}@{}:5432/{}".format, word, password, ipv4, word),
    ipv4, ipv6,
    st.builds("def {}({}):\n    return {}.{}()".format, ident, ident, ident, ident),
    st.builds("class {}(BaseModel):".format, classname),
    st.builds("from {}.{} import {}".format, ident, ident, ident),
    st.builds("{} = {}({});".format, ident, ident, ident),
    timestamp,
    customer,
)
BENIGN_TEXT = st.sampled_from([
    "Small pure functions made the review faster", "retry with backoff", "see above",
    "Prefer dataclasses", "Überprüfung der Eingaben", "ok", "", "n/a", "3 tries",
])


@dataclass
class Planted:
    """The sensitive values of one example: chosen first, then placed."""

    values: list[str]
    more: set[str] = field(default_factory=set)  # names and times drawn while building

    def all(self) -> set[str]:
        out = set(self.values) | self.more
        for value in list(out):  # a private key's body line on its own, too
            out.update(line for line in value.splitlines() if len(line) >= 20)
        return out


def _embedded(values: list[str]) -> st.SearchStrategy[str]:
    return st.builds("{} {}{}".format, BENIGN_TEXT, st.sampled_from(values),
                     st.sampled_from(["", " again", ": rotate it", "\nthen failed"]))


def free(values: list[str]) -> st.SearchStrategy[Any]:
    """Any JSON value: nested lists and objects, sensitive values at random depths, inside
    longer text and as keys."""
    text = st.one_of(BENIGN_TEXT, st.sampled_from(values), _embedded(values))
    leaf = st.one_of(text, st.integers(-10**6, 10**6), st.booleans(), st.none(),
                     st.floats(allow_nan=False, allow_infinity=False))
    key = st.one_of(st.sampled_from(["file", "env", "cwd", "stderr", "note", "git", "code",
                                     "snippet", "headers", "vulnerabilities"]),
                    st.sampled_from(values), _embedded(values))
    return st.recursive(leaf, lambda kids: st.lists(kids, max_size=3)
                        | st.dictionaries(key, kids, max_size=3), max_leaves=8)


@dataclass(frozen=True)
class Free:
    """The free-form field strategies of one example (built once: building is costly)."""

    text: st.SearchStrategy[str]  # a string field: plain, a value inside, or JSON of any
    obj: st.SearchStrategy[dict[str, Any]]  # an object field (context, metadata)
    items: st.SearchStrategy[list[Any]]  # a list field (key_learnings, failure_reasons)

    @classmethod
    def of(cls, values: list[str]) -> Free:
        anything = free(values)
        keys = st.one_of(st.sampled_from(["files", "env", "git", "steps"]),
                         st.sampled_from(values))
        return cls(st.one_of(BENIGN_TEXT, _embedded(values), anything.map(json.dumps)),
                   st.dictionaries(keys, anything, max_size=3),
                   st.lists(anything, max_size=3))


unit = st.floats(0, 1)
positive = st.floats(0, 500)

# ---- records in the real formats ----------------------------------------------------------


@st.composite
def project(draw: st.DrawFn) -> tuple[dict[str, Any], Planted]:
    """The files of one project (path under .tapps-agents → content) and what was planted."""
    planted = Planted(draw(st.lists(SENSITIVE, min_size=1, max_size=6, unique=True)))
    values = planted.values
    any_of = Free.of(values)

    def named(kind: st.SearchStrategy[str] | str) -> str:
        value = kind if isinstance(kind, str) else draw(kind)
        planted.more.add(value)
        return value

    def when() -> str:
        return named(timestamp)

    def choice(known: tuple[str, ...]) -> str:  # a framework name, or a user's own one
        return draw(st.sampled_from(known)) if draw(st.integers(0, 3)) else named(customer)

    def refinement() -> dict[str, Any]:
        return {"timestamp": when(), "improvement_type": choice(IMPROVEMENTS),
                "before_metric": {"success_rate": draw(unit)},
                "after_metric": {"success_rate": draw(unit)},
                "improvement_percent": draw(st.floats(-50, 50)),
                "learned_patterns": [f"func_{named(customer)}_{draw(st.integers(1, 9999))}"],
                "metadata": draw(any_of.obj)}

    def capability() -> dict[str, Any]:
        return {"capability_id": choice(FRAMEWORK_CAPS), "agent_id": choice(AGENTS),
                "success_rate": draw(unit), "average_duration": draw(positive),
                "quality_score": draw(unit), "usage_count": draw(st.integers(0, 400)),
                "last_improved": draw(st.one_of(st.none(), timestamp)),
                "refinement_history": [refinement() for _ in range(draw(st.integers(0, 2)))],
                "metadata": draw(any_of.obj)}

    def pattern() -> dict[str, Any]:
        anti = draw(st.booleans())
        tags = draw(st.lists(st.one_of(st.sampled_from(VULNERABILITIES),
                                       st.sampled_from(values)), max_size=2))
        metadata = draw(any_of.obj)
        if anti:
            metadata["vulnerabilities"] = tags
        return {"pattern_id": f"func_{named(customer)}_{draw(st.integers(1000, 9999))}",
                "pattern_type": choice(PATTERN_TYPES),
                "code_snippet": f"def {named(ident)}(path):\n    return open(path).read()",
                "context": draw(any_of.text), "quality_score": draw(unit),
                "usage_count": draw(st.integers(0, 60)), "success_rate": draw(unit),
                "learned_from": [f"task_{draw(st.integers(0, 99))}"],
                "metadata": metadata, "security_score": draw(st.floats(0, 10)),
                "is_anti_pattern": anti, "failure_reasons": draw(any_of.items),
                "rejection_count": draw(st.integers(0, 6))}

    def memory(i: int) -> dict[str, Any]:
        return {"task_id": f"task_{i}", "agent_id": choice(AGENTS),
                "command": draw(any_of.text), "timestamp": when(),
                "outcome": draw(st.sampled_from(OUTCOMES)), "quality_score": draw(unit),
                "key_learnings": draw(any_of.items),
                "patterns_used": [f"func_{named(customer)}_1"], "similar_tasks": [],
                "context": draw(any_of.obj), "metadata": draw(any_of.obj)}

    def agent() -> dict[str, Any]:
        return {"agent_id": choice(AGENTS), "agent_name": choice(AGENTS),
                "duration": draw(positive), "success": draw(st.booleans()),
                "timestamp": when()}

    def workflow() -> dict[str, Any]:
        return {"workflow_id": f"wf-{named(customer)}", "workflow_name": choice(WORKFLOWS),
                "duration": draw(positive), "steps": draw(st.integers(0, 20)),
                "success": draw(st.booleans()), "timestamp": when()}

    def outcome() -> dict[str, Any]:
        return {"workflow_id": f"wf-{named(customer)}",
                "file_path": draw(st.one_of(st.sampled_from(values), SENSITIVE)),
                "initial_scores": {"security_score": draw(st.floats(0, 10))},
                "final_scores": {"security_score": draw(st.floats(0, 10))},
                "iterations": draw(st.integers(1, 5)),
                "expert_consultations": draw(st.integers(0, 4)),
                "time_to_correctness": draw(positive),
                "first_pass_success": draw(st.booleans()), "timestamp": when(),
                "agent_id": choice(AGENTS), "prompt_hash": "9f86d081884c7d65"}

    def expert() -> dict[str, Any]:
        return {"expert_id": "expert-security", "domain": "security",
                "confidence": draw(unit),
                "query": draw(st.one_of(st.none(), any_of.text)), "timestamp": when()}

    def weight() -> dict[str, Any]:
        return {"expert_id": "expert-security", "old_weight": draw(unit),
                "new_weight": draw(unit), "reason": draw(any_of.text),
                "timestamp": when()}

    def some(make: Callable[[], dict[str, Any]], most: int) -> list[dict[str, Any]]:
        return [make() for _ in range(draw(st.integers(0, most)))]

    files: dict[str, Any] = {
        "capabilities/capabilities.json": {
            "version": "1.0", "hardware_profile": "workstation",
            "metrics": [capability() for _ in range(draw(st.integers(1, 3)))]},
        "learning/patterns.json": some(pattern, 3),
        "memory/memories.json": [memory(i) for i in range(draw(st.integers(0, 4)))],
        "learning/outcomes.jsonl": some(outcome, 2),
        "learning/expert_performance.jsonl": some(expert, 2),
        "learning/weight_adjustments.jsonl": some(weight, 2),
        "analytics/history/agents-2026-01-05.jsonl": some(agent, 4),
        "analytics/history/workflows-2026-01-05.jsonl": some(workflow, 3),
        # copied into export_metadata when it is a version; anything else must not be
        "config.yaml": draw(st.one_of(st.just("3.6.3"), st.sampled_from(values),
                                      st.builds("3.6.3+{}".format, customer).map(named))),
    }
    return files, planted


# ---- running one example ------------------------------------------------------------------


def _write_project(root: Path, files: dict[str, Any]) -> None:
    base = root / ".tapps-agents"
    for rel, content in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".jsonl"):
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in content)
        elif rel == "config.yaml":  # a JSON string is a YAML double-quoted scalar
            text = f"framework_version: {json.dumps(content)}\nlearning:\n  enabled: true\n"
        else:
            text = json.dumps(content, indent=2, ensure_ascii=False)
        path.write_text(text, "utf-8")


def _snapshot(root: Path) -> dict[str, str]:
    base = root / ".tapps-agents"
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*"))
            if p.is_file() and p.relative_to(base).parts[0] != "exports"}


def _strings(value: Any) -> Iterator[str]:
    """Every string in the output, keys included (written here, not leakcheck.strings)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            yield from node.keys()
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _counts(files: dict[str, Any]) -> dict[str, int]:
    return {"capabilities": len(files["capabilities/capabilities.json"]["metrics"]),
            "patterns": len(files["learning/patterns.json"]),
            "memory": len(files["memory/memories.json"]),
            "outcomes": len(files["learning/outcomes.jsonl"]),
            "expert_performance": len(files["learning/expert_performance.jsonl"]),
            "weight_adjustments": len(files["learning/weight_adjustments.jsonl"]),
            "analytics_agents": len(files["analytics/history/agents-2026-01-05.jsonl"]),
            "analytics_workflows": len(files["analytics/history/workflows-2026-01-05.jsonl"])}


def export_once(root: Path) -> exporter.Prepared:
    return exporter.prepare(root, now=lambda: NOW)


@pytest.fixture(scope="module", autouse=True)
def _policy_parsed_once() -> Iterator[None]:
    """Parse the default policy once, not twice per example (it is most of the time)."""
    cached = functools.lru_cache(maxsize=4)(exporter.load_policy)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exporter, "load_policy", cached)
        yield


@settings(settings.get_profile(PROFILE), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(project())
def test_default_policy_leaks_nothing(example: tuple[dict[str, Any], Planted]) -> None:
    files, planted = example
    with tempfile.TemporaryDirectory(prefix="leakprop-", dir=SCRATCH) as tmp:
        root = Path(tmp) / "acme-billing"
        _write_project(root, files)
        before = _snapshot(root)

        first = export_once(root)  # raises on a schema or leak check failure

        # every record was read: the example really exercised what it generated
        for name, count in _counts(files).items():
            source = first.sources[name]
            assert (source["records"], source["problems"]) == (count, []), (name, source)

        document = json.loads(first.data)
        assert document["export_metadata"]["framework_version"] == (
            "3.6.3" if files["config.yaml"] == "3.6.3" else None)
        outside = leakcheck.check(document, tainted=set(), stamp="export_metadata")
        assert outside.findings == []

        found = "\x00".join(_strings(document))
        leaked = sorted(v for v in planted.all() | {str(root)} if v in found)
        assert leaked == [], f"planted values in the export: {leaked}"

        assert _snapshot(root) == before, "the project's learning data changed"
        assert export_once(root).data == first.data, "same key, different export"


def test_free_text_in_framework_version_is_not_exported(tmp_path: Path) -> None:
    """The one raw value an export copies: config.yaml's framework_version. Free text
    there (a user, customer or host name) passed the schema's loose pattern and went out
    in export_metadata; only a version number may."""
    from learnexport.sample import generate

    root = generate(tmp_path / "project", "small", 5).root
    (root / ".tapps-agents" / "config.yaml").write_text(
        'framework_version: "ann.lee-acme-billing"\n', "utf-8")
    prepared = exporter.prepare(root, output=tmp_path / "out.json")
    assert prepared.result.document["export_metadata"]["framework_version"] is None
    assert b"ann.lee" not in prepared.data and b"acme-billing" not in prepared.data
    assert prepared.sources["config"]["problems"] == [
        "config.yaml: framework_version is not a version number like 3.6.3; left out"]
