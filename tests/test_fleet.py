"""``aggregate``: framework-wide figures from many exports, on the local and Dask engines.

Real exports of generated samples; the Dask engine runs on a real local cluster
(distributed.LocalCluster, two worker processes), and both engines must give the same bytes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import random
import re
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from learnexport import docio, submission, versions
from learnexport.errors import InputError, SchemaCheckError, UsageError
from learnexport.exporter import default_policy_path
from learnexport.fleet import aggregate, combine, dask_engine, inputs, names
from learnexport.policy import load_policy
from sharing_fixtures import (
    INSTALL_DASK,
    ROOT,
    check_example,
    console_examples,
    documented_shape,
    keys,
    make_export,
    run_cli,
)

SEEDS = (101, 102, 103, 104, 105, 106)
LIST_SECTIONS = [s for s in combine.SECTIONS if s not in combine.SINGLE]


@dataclass(frozen=True)
class Fleet:
    folder: Path
    exports: tuple[Path, ...]

    def docs(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text("utf-8")) for p in self.exports]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """Six projects' exports; the last one migrated to schema 1.1 by its owner."""
    work = tmp_path_factory.mktemp("fleet")
    folder = work / "exports"
    folder.mkdir()
    paths = [make_export(work, seed) for seed in SEEDS]
    migrated = versions.migrate(json.loads(paths[-1].read_text("utf-8")), "1.1", "x")
    paths[-1].write_bytes(docio.encode_json(migrated))
    moved = []
    for path in paths:
        moved.append(path.rename(folder / path.name))
    return Fleet(folder, tuple(moved))


@pytest.fixture(scope="module")
def result(fleet: Fleet) -> dict[str, Any]:
    """The aggregate of the fleet with K=2, computed in this process."""
    return aggregate(fleet.exports, min_projects=2, workers=1)


def _rows(out: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [row for section in LIST_SECTIONS for row in out[section]]
    return rows + [out[s] for s in combine.SINGLE if out[s] is not None]


def _write(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    path = folder / name
    path.write_bytes(docio.encode_json(doc))
    return path


def test_the_public_names_are_the_default_policys_own() -> None:
    policy = load_policy(default_policy_path())
    listed = set(re.findall(r'"([a-z_]+)"', policy.rule("custom-capability-ids").select))
    assert listed == names.CAPABILITIES
    for rule, known in (("agent-names", names.AGENTS), ("workflow-names", names.WORKFLOWS),
                        ("vulnerability-tags", names.VULNERABILITY_TAGS),
                        ("pattern-types", names.PATTERN_TYPES),
                        ("improvement-types", names.IMPROVEMENT_TYPES)):
        assert set(policy.rule(rule).options["allow"]) == known, rule


def test_capability_figures_are_usage_weighted_over_the_projects_using_them(
        fleet: Fleet, result: dict[str, Any]) -> None:
    docs = fleet.docs()
    assert result["capabilities"], "the samples use framework capabilities"
    for row in result["capabilities"]:
        used = [c for d in docs for c in d["capability_metrics"]["capabilities"]
                if c["capability_id"] == row["capability_id"] and c["usage_count"] > 0]
        usage = sum(c["usage_count"] for c in used)
        assert row["projects"] == len(used) >= 2
        assert row["usage"] == usage
        assert row["refinements"] == sum(c["refinements"] for c in used)
        for figure in ("success_rate", "quality_score", "average_duration"):
            expected = sum(c[figure] * c["usage_count"] for c in used) / usage
            assert row[figure] == pytest.approx(expected, abs=6e-5), figure
    custom = [c for d in docs for c in d["capability_metrics"]["capabilities"]
              if c["capability_id"].startswith("custom_") and c["usage_count"] > 0]
    assert result["custom_capabilities"]["capabilities"] == len(custom)
    assert result["custom_capabilities"]["usage"] == sum(c["usage_count"] for c in custom)


def test_pattern_and_vulnerability_figures(fleet: Fleet, result: dict[str, Any]) -> None:
    docs = fleet.docs()
    patterns = sum(d["pattern_statistics"]["summary"]["patterns"] for d in docs)
    anti = sum(d["pattern_statistics"]["summary"]["anti_patterns"] for d in docs)
    assert result["patterns"]["projects"] == len(docs)
    assert (result["patterns"]["patterns"], result["patterns"]["anti_patterns"]) == (patterns, anti)
    assert result["patterns"]["anti_pattern_rate"] == round(anti / patterns, 4)
    for row in result["vulnerabilities"]:
        having = [d for d in docs if any(v["tag"] == row["tag"]
                                         for v in d["pattern_statistics"]["vulnerabilities"])]
        assert row["projects"] == len(having)
        assert row["share_of_projects"] == round(len(having) / len(docs), 4)
    by_type = {r["pattern_type"]: r for r in result["pattern_types"]}
    assert sum(r["patterns"] for r in by_type.values()) == patterns


def test_older_schema_versions_are_migrated_first(result: dict[str, Any]) -> None:
    meta = result["aggregate"]
    assert meta["schema_version"] == versions.LATEST
    assert (meta["inputs"], meta["projects"], meta["migrated"]) == (6, 6, 5)


@pytest.mark.parametrize("k", [2, 4, 6, 7])
def test_no_figure_from_fewer_than_k_projects(fleet: Fleet, k: int) -> None:
    out = aggregate(fleet.exports, min_projects=k, workers=1)
    rows = _rows(out)
    assert all(row["projects"] >= k for row in rows)
    summed = combine.contribute_all(inputs.newest_per_project(
        [inputs.load(i, p) for i, p in enumerate(fleet.exports)])[0])
    below = sum(1 for figures in summed.groups.values() if figures["projects"][0] < k)
    assert sum(out["aggregate"]["suppressed"].values()) == below
    if k > len(SEEDS):
        assert rows == [] and below == len(summed.groups)


def test_a_figure_too_few_projects_gave_is_suppressed_alone(fleet: Fleet,
                                                             tmp_path: Path) -> None:
    """Six projects use code_review, but only one reports its success rate."""
    paths = []
    for index, doc in enumerate(fleet.docs()):
        for cap in doc["capability_metrics"]["capabilities"]:
            if cap["capability_id"] == "code_review" and index:
                cap["success_rate"] = None
        paths.append(_write(tmp_path, f"e{index}.json", doc))
    row = next(r for r in aggregate(paths, min_projects=2, workers=1)["capabilities"]
               if r["capability_id"] == "code_review")
    assert row["projects"] >= 2 and row["usage"] > 0
    assert row["success_rate"] is None and row["quality_score"] is not None


def test_the_aggregate_identifies_no_project(fleet: Fleet, result: dict[str, Any]) -> None:
    text = json.dumps(result)
    assert not re.search(r"custom_[0-9a-f]{16}", text) and "project-" not in text
    for doc in fleet.docs():
        meta = doc["export_metadata"]
        assert meta["hash_key_id"] not in text
        assert meta["export_timestamp"] not in text
    assert all(row["projects"] >= 2 for row in _rows(result))


def test_names_a_users_own_policy_kept_are_never_shown(fleet: Fleet, tmp_path: Path) -> None:
    paths = []
    for index, doc in enumerate(fleet.docs()):
        doc["capability_metrics"]["capabilities"][1]["capability_id"] = "acme_corp_invoices"
        doc["usage_patterns"]["agents"][0]["agent_name"] = "globex-billing-bot"
        doc["usage_patterns"]["workflows"][0]["workflow_name"] = "initech-release"
        paths.append(_write(tmp_path, f"e{index}.json", doc))
    out = aggregate(paths, min_projects=2, workers=1)
    text = json.dumps(out)
    assert not {"acme", "globex", "initech"} & set(re.findall(r"[a-z]+", text))
    assert "custom" in {r["agent_name"] for r in out["agents"]}
    assert "custom" in {r["workflow_name"] for r in out["workflows"]}


def test_each_project_counts_once_with_its_newest_export(fleet: Fleet, tmp_path: Path) -> None:
    base = aggregate(fleet.exports, min_projects=2, workers=1)
    first = json.loads(fleet.exports[0].read_text("utf-8"))
    older = copy.deepcopy(first)
    older["export_metadata"]["export_timestamp"] = "2020-01-01T00:00:00Z"
    for cap in older["capability_metrics"]["capabilities"]:
        cap["usage_count"] += 1000
    extra = [_write(tmp_path, "older.json", older),
             _write(tmp_path, "copy.json", json.loads(fleet.exports[1].read_text("utf-8")))]
    out = aggregate([*fleet.exports, *extra], min_projects=2, workers=1)
    assert (out["aggregate"]["inputs"], out["aggregate"]["projects"],
            out["aggregate"]["duplicates"]) == (8, 6, 2)
    assert {k: v for k, v in out.items() if k != "aggregate"} == \
        {k: v for k, v in base.items() if k != "aggregate"}
    older["export_metadata"]["export_timestamp"] = "2099-01-01T00:00:00Z"  # now the newest
    newer = aggregate([*fleet.exports, _write(tmp_path, "older.json", older)], min_projects=2,
                      workers=1)
    assert sum(r["usage"] for r in newer["capabilities"]) > \
        sum(r["usage"] for r in base["capabilities"])


def test_packages_count_like_the_exports_inside_them(fleet: Fleet, tmp_path: Path) -> None:
    packages = []
    for path in fleet.exports[:3]:
        checked = submission.check_export(str(path))
        packages.append(submission.write(checked, None, tmp_path / f"{path.stem}.tar.gz"))
    out = aggregate([*packages, *fleet.exports[3:]], min_projects=2, workers=1)
    assert out == aggregate(fleet.exports, min_projects=2, workers=1)
    both = aggregate([*packages, *fleet.exports], min_projects=2, workers=1)
    assert both["aggregate"]["duplicates"] == 3


def test_yaml_and_gzipped_exports_count_like_json(fleet: Fleet, tmp_path: Path) -> None:
    docs = fleet.docs()
    as_yaml = tmp_path / "a.yaml"
    as_yaml.write_text(yaml.safe_dump(docs[0], sort_keys=False), "utf-8")
    zipped = tmp_path / "b.json.gz"
    docio.write_atomic(zipped, docio.encode_json(docs[1]))
    out = aggregate([as_yaml, zipped, *fleet.exports[2:]], min_projects=2, workers=1)
    assert out == aggregate(fleet.exports, min_projects=2, workers=1)


def test_merging_in_any_order_and_grouping_gives_the_same_figures(fleet: Fleet) -> None:
    items, _ = inputs.newest_per_project(
        [inputs.load(i, p) for i, p in enumerate(fleet.exports)])
    parts = [combine.contribute(item) for item in items]
    reference = combine.publish(combine.merge_all(parts), 2, inputs=6, duplicates=0)
    rng = random.Random(5)
    for _ in range(25):
        shuffled = parts[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(parts)), rng.randrange(0, len(parts) - 1)))
        groups = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(parts)], strict=True)]
        merged = combine.merge_all(combine.merge_all(g) for g in reversed(groups))
        assert combine.publish(merged, 2, inputs=6, duplicates=0) == reference


def test_invalid_inputs_fail_with_the_file_named(fleet: Fleet, tmp_path: Path) -> None:
    doc = json.loads(fleet.exports[0].read_text("utf-8"))
    doc["capability_metrics"]["capabilities"][0]["success_rate"] = 1.5
    doc["export_metadata"]["hash_key_id"] = "0123456789ab"  # another project
    bad = _write(tmp_path, "bad.json", doc)
    doc["export_metadata"]["hash_key_id"] = "ba9876543210"
    worse = _write(tmp_path, "worse.json", {**doc, "extra": 1})
    with pytest.raises(SchemaCheckError) as caught:
        aggregate([*fleet.exports, bad, worse], min_projects=2, workers=1)
    text = caught.value.render()
    assert text.startswith(f"{bad}: does not pass schema export-1.0, the version it declares "
                           "(1 problem) (1 more input(s) failed too). Fix or remove them: the "
                           "aggregate counts only valid exports\n")
    assert "\n  - capability_metrics.capabilities[0].success_rate: must be at most 1" in text
    with pytest.raises(InputError, match="not a learning export"):
        aggregate([_write(tmp_path, "other.json", {"a": 1})], workers=1)
    with pytest.raises(InputError, match="no such file or folder"):
        aggregate([tmp_path / "missing.json"], workers=1)


@pytest.mark.parametrize(("options", "message"), [
    ({"min_projects": 1}, "too low"),
    ({"scheduler": "tcp://127.0.0.1:8786"}, "--scheduler is for the Dask engine"),
    ({"engine": "spark"}, "unknown engine"),
])  # fmt: skip
def test_bad_options_are_usage_errors(fleet: Fleet, options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        aggregate(fleet.exports, **options)


def test_without_dask_installed_the_error_says_how_to_get_it(
        fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.bag", None)
    with pytest.raises(UsageError) as caught:
        aggregate(fleet.exports, engine="dask")
    assert "pip install 'learnexport[dask]'" in caught.value.render()


def test_the_installed_command_aggregates_a_folder(fleet: Fleet, tmp_path: Path,
                                                   result: dict[str, Any]) -> None:
    done = run_cli("aggregate", fleet.folder, "--min-projects", "2", "-o", "out.json",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text("utf-8")) == result
    assert "aggregated 6 input(s): 6 project(s), 0 other export(s) of the same projects left " \
        "out, 5 migrated to schema 1.1; " in done.stderr
    bad = run_cli("aggregate", fleet.folder, tmp_path / "out.json", cwd=tmp_path)
    assert bad.returncode == 1 and "out.json: not a learning export" in bad.stderr
    assert "Traceback" not in bad.stderr


# ---- Dask: a real local cluster (the local engine ran above, before any threads) ---------------


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    try:
        import distributed
    except ImportError:
        pytest.fail(f"the Dask engine tests need the dask extra: {INSTALL_DASK}")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        yield cluster


def test_local_and_dask_engines_give_identical_bytes(fleet: Fleet, dask_cluster: Any,
                                                     tmp_path: Path) -> None:
    extra = _write(tmp_path, "copy.json", json.loads(fleet.exports[2].read_text("utf-8")))
    paths = [*fleet.exports, extra]
    serial = aggregate(paths, min_projects=3, workers=1)
    pool = aggregate(paths, min_projects=3, workers=2)
    on_dask = aggregate(paths, min_projects=3, engine="dask",
                        scheduler=dask_cluster.scheduler_address)
    assert docio.encode_json(serial) == docio.encode_json(pool) == docio.encode_json(on_dask)
    assert on_dask["aggregate"]["duplicates"] == 1
    done = run_cli("aggregate", *paths, "--min-projects", "3", "--engine", "dask",
                   "--scheduler", dask_cluster.scheduler_address, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.encode("utf-8") == docio.encode_json(serial)


def test_schema_failures_come_back_from_the_dask_workers(fleet: Fleet, dask_cluster: Any,
                                                        tmp_path: Path) -> None:
    doc = json.loads(fleet.exports[0].read_text("utf-8"))
    doc["usage_patterns"]["agents"][0]["runs"] = -1
    bad = _write(tmp_path, "bad.json", doc)
    with pytest.raises(SchemaCheckError, match="bad.json"):
        aggregate([bad, *fleet.exports[1:]], engine="dask",
                  scheduler=dask_cluster.scheduler_address)


def test_an_unreachable_scheduler_is_a_clear_error(fleet: Fleet,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(InputError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        aggregate(fleet.exports, engine="dask", scheduler="tcp://127.0.0.1:9")


# ---- docs/maintainers.md ------------------------------------------------------------------------

MAINTAINERS = ROOT / "docs" / "maintainers.md"


def test_the_documented_output_shape_is_the_real_one(result: dict[str, Any]) -> None:
    documented = documented_shape(MAINTAINERS.read_text("utf-8"), "aggregate")
    expected = {".aggregate", *(f".aggregate.{k}" for k in result["aggregate"])}
    expected |= {f".aggregate.suppressed.{s}" for s in combine.SECTIONS}
    for section, (key_name, spec) in combine.SECTIONS.items():
        at = f".{section}" if section in combine.SINGLE else f".{section}[]"
        expected |= {f".{section}", f"{at}.projects", *(f"{at}.{fig}" for fig, _ in spec)}
        expected |= {f"{at}.{key_name}"} if key_name else set()
    expected.add(".vulnerabilities[].share_of_projects")
    assert keys(documented) == expected
    assert keys(result) <= expected


def test_every_command_in_the_maintainers_guide_runs_as_shown(tmp_path: Path) -> None:
    examples = console_examples(MAINTAINERS.read_text("utf-8"))
    assert len(examples) >= 8
    for example in examples:
        check_example(example, tmp_path, "docs/maintainers.md")


def test_a_project_that_exports_again_under_a_new_key_is_still_one_project(
        fleet: Fleet, tmp_path: Path) -> None:
    """A project counted by its key id: one that lost or replaced its key and exported
    again counted twice, and its own figures passed --min-projects 2 (a new-user trial
    found it). The same figures under another key are now the same project."""
    from learnexport.api import export as export_project

    project = fleet.folder.parent / f"project-{SEEDS[0]}"
    other_key = tmp_path / "new.key"
    other_key.write_text("f" * 64 + "\n")
    other_key.chmod(0o600)
    again = export_project(project, output=tmp_path / "again.json", hash_key_file=other_key)
    assert again.path is not None
    first, second = (json.loads(p.read_text("utf-8")) for p in (fleet.exports[0], again.path))
    assert first["export_metadata"]["hash_key_id"] != second["export_metadata"]["hash_key_id"]
    assert inputs.content_id(first) == inputs.content_id(second)
    assert inputs.content_id(first) != inputs.content_id(fleet.docs()[1])
    out = aggregate([fleet.exports[0], again.path], min_projects=2, workers=1)
    assert out["aggregate"]["projects"] == 1 and out["aggregate"]["duplicates"] == 1
    assert _rows(out) == []  # nothing from one project
    base = aggregate(fleet.exports, min_projects=2, workers=1)
    assert aggregate([*fleet.exports, again.path], min_projects=2, workers=1) == {
        **base, "aggregate": {**base["aggregate"], "inputs": len(fleet.exports) + 1,
                              "duplicates": 1}}


def test_a_broken_copy_stops_the_run_even_when_an_intact_copy_counts(
        fleet: Fleet, tmp_path: Path) -> None:
    """Copies of one project are checked too: a tampered one was dropped unread when the
    intact copy was newer, and the run ended with exit 0."""
    doc = fleet.docs()[0]
    doc["capability_metrics"]["capabilities"][0]["success_rate"] = 1.5
    doc["export_metadata"]["export_timestamp"] = "2000-01-01T00:00:00Z"  # the older copy
    tampered = _write(tmp_path, "tampered.json", doc)
    with pytest.raises(SchemaCheckError) as caught:
        aggregate([fleet.exports[0], tampered, fleet.exports[1]], min_projects=2, workers=1)
    assert caught.value.render().startswith(f"{tampered}: does not pass schema export-1.0")


def test_aggregate_and_migrate_refuse_an_output_named_for_another_format(
        fleet: Fleet, tmp_path: Path) -> None:
    """Both write JSON; '-o agg.yaml' wrote JSON into it without a word."""
    for args in (("aggregate", *fleet.exports[:2], "-o", tmp_path / "agg.yaml"),
                 ("migrate", fleet.exports[0], "--to", "1.1", "-o", tmp_path / "m.yml.gz")):
        done = run_cli(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "the name says YAML, but this writes JSON; nothing was written" in done.stderr
    assert list(tmp_path.iterdir()) == []


def _session(leader: int) -> list[int]:
    """The processes of the session ``leader`` started (its own pid included)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[3]) == leader:  # field 6: the session
                found.append(int(entry))
    return found


def _ignores_sigint(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_an_interrupt_during_the_dask_engine_is_one_line(fleet: Fleet, dask_cluster: Any,
                                                         tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group: each worker of the local cluster printed
    its own KeyboardInterrupt traceback, and the scheduler logged every broken operation,
    after the command's one line. The workers now start with SIGINT ignored; once they
    are up (and the command handles SIGINT again), a Ctrl-C to the whole group gives that
    one line, exit 130, and writes nothing. (A review found the earlier version of this
    test, which sent the signal after fixed delays, passing with the fix removed.)"""
    import subprocess
    import time

    from sharing_fixtures import command

    copies = tmp_path / "in"  # 600 inputs: all are checked, which keeps the cluster busy
    copies.mkdir()
    for index in range(100):
        for path in fleet.exports:
            (copies / f"{index}-{path.name}").write_bytes(path.read_bytes())
    target = tmp_path / "out.json"
    run = subprocess.Popen([str(command()), "aggregate", str(copies), "--engine", "dask",
                            "-o", str(target)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    try:
        while True:  # until the workers are up and the command handles SIGINT again
            assert run.poll() is None, run.communicate()
            workers = [p for p in _session(run.pid) if p != run.pid]
            with contextlib.suppress(OSError):
                if len([p for p in workers if _ignores_sigint(p)]) >= 2 \
                        and not _ignores_sigint(run.pid):
                    break
            assert time.monotonic() < deadline, "the cluster's workers did not start"
            time.sleep(0.02)
        os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert (run.returncode, err) == (130, "learnexport: interrupted; nothing was written\n")
    assert not target.exists()


def test_a_folder_is_read_with_its_sub_folders_but_not_hidden_ones(fleet: Fleet,
                                                                  tmp_path: Path) -> None:
    """The fleet trial found hid/.old/e1copy.json counted: a hidden folder (a backup, .git)
    is not read; visible sub-folders are."""
    (tmp_path / "sub" / ".old").mkdir(parents=True)
    for index, path in enumerate(fleet.exports):
        where = tmp_path / "sub" if index % 2 else tmp_path
        where.joinpath(path.name).write_bytes(path.read_bytes())
    odd = json.loads(fleet.exports[0].read_text("utf-8"))
    odd["capability_metrics"]["capabilities"][0]["success_rate"] = 1.5  # would stop the run
    (tmp_path / "sub" / ".old" / "old.json").write_text(json.dumps(odd), "utf-8")
    assert sorted(p.name for p in inputs.expand([tmp_path])) == sorted(
        p.name for p in fleet.exports)
    assert aggregate([tmp_path], min_projects=2, workers=1)["aggregate"]["projects"] == 6


def test_only_the_exports_that_count_are_compared_by_their_figures(fleet: Fleet,
                                                                  tmp_path: Path) -> None:
    """From a review: figures were joined transitively over every export, so two projects
    whose early exports matched (both empty, say) became one and the other's data was
    lost; and the metadata (framework version, policy) kept a re-keyed project apart."""
    first, second, third = fleet.docs()[:3]
    old = []
    for doc in (first, second):  # each project's older export: the same figures in both
        early = copy.deepcopy(third)
        early["export_metadata"] = {**doc["export_metadata"],
                                    "export_timestamp": "2000-01-01T00:00:00Z"}
        old.append(_write(tmp_path, f"early-{len(old)}.json", early))
    out = aggregate([*fleet.exports[:2], *old], min_projects=2, workers=1)
    assert (out["aggregate"]["projects"], out["aggregate"]["duplicates"]) == (2, 2)
    rekeyed = copy.deepcopy(first)  # a new key, and a newer framework: the same figures
    rekeyed["export_metadata"].update(hash_key_id="fedcba987654", framework_version="9.9.9")
    out = aggregate([fleet.exports[0], _write(tmp_path, "rekeyed.json", rekeyed)],
                    min_projects=2, workers=1)
    assert (out["aggregate"]["projects"], out["aggregate"]["duplicates"]) == (1, 1)


def test_the_cluster_logs_are_silenced_for_the_stop_then_given_back() -> None:
    """From a review: after an interrupted dask run the distributed and asyncio loggers
    stayed silenced for the rest of the process (an in-process caller lost its logs)."""
    logger = logging.getLogger("distributed")
    before = logger.level
    logger.setLevel(logging.INFO)
    try:
        with pytest.raises(KeyboardInterrupt), dask_engine._logging_restored(), \
                dask_engine._quiet_when_stopped():  # (the cluster stops between the two)
            raise KeyboardInterrupt
        assert logger.level == logging.INFO
    finally:
        logger.setLevel(before)
