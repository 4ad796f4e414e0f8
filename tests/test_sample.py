"""Sample projects: deterministic, the promised sizes, realistic, every planted value present."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from learnexport.collector import FIELDS, check_record, collect
from learnexport.sample import SIZES, SampleInfo, generate


def _files(root: Path) -> dict[str, bytes]:
    base = root / ".tapps-agents"
    return {
        str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()
    }


def _strings(value: object, out: list[str]) -> None:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            out.append(key)
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


def _load(root: Path) -> dict[str, list]:
    """Each source's records, parsed straight from the files (not through the collector)."""
    base = root / ".tapps-agents"
    history = base / "analytics" / "history"
    lines = {
        name: [
            json.loads(x)
            for f in sorted(history.glob(f"{kind}-*.jsonl"))
            for x in f.read_text().splitlines()
        ]
        for name, kind in (("analytics_agents", "agents"), ("analytics_workflows", "workflows"))
    }
    for name in ("outcomes", "expert_performance", "weight_adjustments"):
        lines[name] = [
            json.loads(x) for x in (base / "learning" / f"{name}.jsonl").read_text().splitlines()
        ]
    return {
        "capabilities": json.loads((base / "capabilities/capabilities.json").read_text())[
            "metrics"
        ],
        "patterns": json.loads((base / "learning/patterns.json").read_text()),
        "memory": json.loads((base / "memory/memories.json").read_text()),
        **lines,
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleInfo, dict[str, list]]:
    info = generate(tmp_path_factory.mktemp("small"), "small", seed=0)
    return info, _load(info.root)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", "small", seed=42)
    b = generate(tmp_path / "b", "small", seed=42)
    c = generate(tmp_path / "c", "small", seed=43)
    assert _files(a.root) == _files(b.root)
    assert a.planted == b.planted and a.counts == b.counts
    assert _files(a.root).keys() == _files(c.root).keys()
    assert _files(a.root)["memory/memories.json"] != _files(c.root)["memory/memories.json"]
    tokens = ("AKIA", "ghp_", "sk-", "eyJ")
    assert {p for p in a.planted if p.startswith(tokens)}.isdisjoint(c.planted)


def test_small_counts(small) -> None:
    info, records = small
    assert info.counts == {
        "capabilities": 8, "patterns": 40, "memory": 60, "analytics_agents": 320,
        "analytics_workflows": 80, "outcomes": 40, "expert_performance": 40,
        "weight_adjustments": 40, "config": 1,
    }  # fmt: skip
    assert {name: len(r) for name, r in records.items()} == {
        k: v for k, v in info.counts.items() if k != "config"
    }
    history = sorted(p.name for p in (info.root / ".tapps-agents/analytics/history").iterdir())
    assert len(history) == 2 * SIZES["small"].days
    assert history[0] == "agents-2026-01-05.jsonl" and history[-1] == "workflows-2026-01-14.jsonl"
    assert (info.size, info.seed, info.corruptions) == ("small", 0, ())


@pytest.mark.parametrize("size", ["typical"])
def test_typical_counts(tmp_path: Path, size: str) -> None:
    info = generate(tmp_path, size, seed=5)
    spec = SIZES[size]
    assert (spec.capabilities, spec.patterns, spec.memories, spec.analytics) == (
        100,
        1_000,
        2_000,
        20_000,
    )
    assert info.counts["analytics_agents"] + info.counts["analytics_workflows"] == spec.analytics
    doc = collect(info.root)
    assert {n: s["records"] for n, s in doc["collection"]["sources"].items()} == info.counts
    assert doc["collection"]["warnings"] == []


def test_large_is_sized_as_promised() -> None:
    spec = SIZES["large"]
    assert (spec.capabilities, spec.patterns, spec.memories, spec.analytics) == (
        1_000, 10_000, 100_000, 1_000_000
    )  # fmt: skip


def test_records_fit_the_formats(small) -> None:
    _, records = small
    for name, items in records.items():
        assert [check_record(r, FIELDS[name]) for r in items] == [None] * len(items), name
    assert set(records["capabilities"][0]) == set(FIELDS["capabilities"])
    assert set(records["patterns"][0]) == set(FIELDS["patterns"])
    assert set(records["memory"][0]) == set(FIELDS["memory"])
    assert set(records["outcomes"][0]) == set(FIELDS["outcomes"])


@pytest.mark.parametrize("seed", range(5))
def test_every_planted_value_is_in_the_files(tmp_path: Path, seed: int) -> None:
    info = generate(tmp_path, "small", seed=seed)
    strings: list[str] = []
    _strings(list(_load(info.root).values()), strings)
    blob = "\n".join(strings)
    assert sorted(v for v in info.planted if v not in blob) == []
    assert sorted(v for v in info.planted if len(v) < 8) == []


def test_every_kind_of_sensitive_value_is_planted(small) -> None:
    info, _ = small
    kinds = {
        "aws key": r"AKIA[A-Z2-7]{16}", "github token": r"ghp_[A-Za-z0-9]{36}",
        "sk- key": r"sk-[A-Za-z0-9]{48}", "jwt": r"eyJ[\w-]+\.[\w-]+\.[\w-]+",
        "password": r"password=\S{14}", "private key": r"-----BEGIN RSA PRIVATE KEY-----\n",
        "url with credentials": r"://[^/\s:]+:[^@\s]+@", "ip": r"\d+\.\d+\.\d+\.\d+",
        "email": r"^[a-z]+\.[a-z]+@[a-z-]+\.com$", "linux home": r"^/home/[a-z]+\.[a-z]+/",
        "mac home": r"^/Users/", "windows home": r"^C:\\Users\\", "tilde path": r"^~/work/",
        "function line": r"^def \w+\(.*\):$", "class line": r"^class \w+\(\w+\):$",
        "import line": r"^from \w+\.core import \w+$",
        "custom capability": r"^[a-z]+_[a-z]+_[a-z]+_[a-z]+$",
    }  # fmt: skip
    found = {k: any(re.search(rx, v) for v in info.planted) for k, rx in kinds.items()}
    assert [k for k, ok in found.items() if not ok] == []


def test_realistic_content(small) -> None:
    info, records = small
    caps = records["capabilities"]
    custom = [c["capability_id"] for c in caps if c["capability_id"] in info.planted]
    assert [c["capability_id"] for c in caps[:3]] == ["code_generation", "code_review", "testing"]
    assert len(custom) == 2
    assert any(c["refinement_history"] for c in caps)
    assert any(c["last_improved"] is None for c in caps)
    patterns = records["patterns"]
    assert {p["pattern_type"] for p in patterns} == {"function", "class", "import", "structure"}
    anti = [p for p in patterns if p["is_anti_pattern"]]
    assert anti and all(p["context"].startswith("Anti-pattern") for p in anti)
    assert all(p["metadata"]["vulnerabilities"] and p["security_score"] < 5 for p in anti)
    assert all(0 <= p["security_score"] <= 10 for p in patterns)
    memories = records["memory"]
    assert set(Counter(m["outcome"] for m in memories)) <= {
        "success",
        "failure",
        "partial",
        "cancelled",
    }
    assert Counter(m["outcome"] for m in memories).most_common(1)[0][0] == "success"
    stamps = [m["timestamp"] for m in memories]
    assert any(s.endswith("+00:00") for s in stamps) and any(len(s) == 26 for s in stamps)
    assert any(isinstance(v, dict) for m in memories for v in m["context"].values())
    agents = records["analytics_agents"]
    assert len({a["agent_id"] for a in agents}) >= 8
    assert 0.8 < sum(a["success"] for a in agents) / len(agents) < 0.95
    assert len({w["workflow_name"] for w in records["analytics_workflows"]}) >= 5
    config = (info.root / ".tapps-agents" / "config.yaml").read_text()
    assert 'framework_version: "3.5.2"' in config


def test_corrupt_sample(tmp_path: Path) -> None:
    info = generate(tmp_path, "small", seed=0, corrupt=True)
    assert info.corruptions == ("outcomes.jsonl line 21", "agents-2026-01-14.jsonl line 44")
    outcomes = (tmp_path / ".tapps-agents/learning/outcomes.jsonl").read_text().splitlines()
    assert len(outcomes) == 41 and outcomes[20].startswith('{"workflow_id": "wf-interrupted"')
    last = (tmp_path / ".tapps-agents/analytics/history/agents-2026-01-14.jsonl").read_bytes()
    assert not last.endswith(b"\n")
    assert info.counts == generate(tmp_path / "clean", "small", seed=0).counts


def test_unknown_size(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="unknown size 'huge': choose one of small, typical, large"
    ):
        generate(tmp_path, "huge")


def test_a_failed_sample_leaves_no_half_written_project(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """From a review: a full disk part-way through said "nothing was written" and left
    .tapps-agents/ with some files, which the next run then refused to overwrite."""
    import errno

    from learnexport import sample

    def full(*_: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sample, "_write_analytics", full)  # after three files are written
    with pytest.raises(OSError):
        generate(tmp_path / "p", "small", 1)
    assert list((tmp_path / "p").iterdir()) == []
    (tmp_path / "q" / ".tapps-agents").mkdir(parents=True)  # not made by it: left alone
    with pytest.raises(OSError):
        generate(tmp_path / "q", "small", 1)
    assert (tmp_path / "q" / ".tapps-agents").is_dir()
