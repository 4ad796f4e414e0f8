"""Big streams read in forked processes (engine/parallel.py) give the result of reading
them one after another, byte for byte; anything unusual falls back to that plain order,
so an error is the one a single process raises; children never outlive the parent."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from learnexport import parallel
from learnexport.applier import apply_policy
from learnexport.collector import collect
from learnexport.errors import ApplyError
from learnexport.exporter import default_policy_path
from learnexport.policy import load_policy, parse_policy

KEY = b"parallel-test-key-0123456789abcdef"
NOW = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


@pytest.fixture
def project(damaged_small: Path) -> Path:
    return damaged_small


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Parallel passes whatever the size and the machine; records the groups formed."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "jobs", lambda: 2)
    # the suite's other tests may leave threads behind (dask); these children only read
    monkeypatch.setattr(parallel, "single_threaded", lambda: True)
    formed: list[list[int]] = []
    real = parallel.groups

    def groups(sizes: Any, count: int) -> list[list[int]]:
        out = real(sizes, count)
        formed.extend(out)
        return out

    monkeypatch.setattr(parallel, "groups", groups)
    return formed


def _run(policy_text: str | None, project: Path) -> tuple[Any, ...]:
    policy = (load_policy(default_policy_path()) if policy_text is None
              else parse_policy(policy_text, "p.yaml"))
    document = collect(project, lazy=True)
    result = apply_policy(policy, document, key=KEY)
    return (result.document, result.report.to_dict(), sorted(result.tainted),
            sorted(result.produced), document["collection"]["sources"])


def test_the_default_policy_gives_the_same_run_in_parallel(project: Path,
                                                           forking: list[list[int]],
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    together = _run(None, project)
    assert len(forking) >= 2, "the streams were not read in parallel"
    monkeypatch.setenv("LEARNEXPORT_JOBS", "1")
    monkeypatch.setattr(parallel, "jobs", lambda: 1)
    alone = _run(None, project)
    assert together == alone  # the result, report, taint, and each source's counts


def test_an_action_that_fails_in_a_child_fails_as_in_one_process(
        project: Path, forking: list[list[int]]) -> None:
    policy = """
policy: t
version: 1.0.0
rules:
  - {id: agg, select: memory, action: aggregate, metrics: {n: count}, into: out.m}
  - {id: bad, select: "analytics.agents[*].agent_name", action: round, digits: 1}
  - {id: agg2, select: analytics.agents, action: aggregate, metrics: {n: count}, into: out.a}
"""
    with pytest.raises(ApplyError) as caught:
        _run(policy, project)
    assert forking, "the streams were not read in parallel"
    assert (caught.value.rule, caught.value.path) == ("bad", "analytics.agents[0].agent_name")


def test_groups_balance_the_weights_and_keep_the_order() -> None:
    assert parallel.groups([5, 100, 30, 60, 10], 2) == [[0, 1], [2, 3, 4]]  # 105 and 100
    assert parallel.groups([1, 1, 1, 1], 2) == [[0, 2], [1, 3]]
    assert parallel.groups([7], 2) == [[0]]


def test_not_worth_it_for_small_streams_one_stream_one_core_or_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    big = parallel.MIN_BYTES
    monkeypatch.setattr(parallel, "jobs", lambda: 2)
    monkeypatch.setattr(parallel, "single_threaded", lambda: True)
    assert parallel.worthwhile([big, big])
    assert not parallel.worthwhile([big // 4, big // 4])
    assert not parallel.worthwhile([4 * big])
    monkeypatch.setattr(parallel, "jobs", lambda: 1)
    assert not parallel.worthwhile([big, big])
    monkeypatch.setattr(parallel, "jobs", lambda: 2)
    monkeypatch.setattr(parallel, "single_threaded", lambda: False)
    assert not parallel.worthwhile([big, big])  # forking a threaded process is unsafe
    monkeypatch.undo()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not parallel.single_threaded()
    finally:
        stop.set()
        thread.join()


def test_learnexport_jobs_caps_the_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNEXPORT_JOBS", "1")
    assert parallel.jobs() == 1
    monkeypatch.setenv("LEARNEXPORT_JOBS", "64")
    assert 1 <= parallel.jobs() <= (os.cpu_count() or 1)


def test_a_child_that_fails_or_dies_makes_the_parent_fall_back() -> None:
    def boom() -> Any:
        raise RuntimeError("no")

    assert parallel._collect([parallel._fork(boom)]) is None
    assert parallel._collect([parallel._fork(lambda: os.kill(os.getpid(), signal.SIGKILL))]) \
        is None
    assert parallel._collect([parallel._fork(lambda: {"a": [1, 2]})]) == [{"a": [1, 2]}]


def test_an_interrupt_while_waiting_kills_and_reaps_the_children(
        monkeypatch: pytest.MonkeyPatch) -> None:
    children = [parallel._fork(lambda: time.sleep(60)) for _ in range(2)]

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel.os, "fdopen", interrupted)
    with pytest.raises(KeyboardInterrupt):
        parallel._collect(children)
    for pid, _ in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie, no orphan


def test_a_filtered_export_gives_the_same_file_and_source_counts_in_parallel(
        project: Path, forking: list[list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    """With --since and --agent, streams are filtered views of the sources; the counts
    and problems that reading finds go to the sources' own entries, from a child too."""
    from learnexport import exporter
    from learnexport.provenance import Filters

    def prepared() -> bytes:
        filters = Filters(agents=("reviewer", "implementer"), since="2026-01-08")
        return exporter.prepare(project, filters=filters, now=lambda: NOW).data

    together = prepared()
    assert forking, "the streams were not read in parallel"
    monkeypatch.setattr(parallel, "jobs", lambda: 1)
    alone = prepared()
    assert together == alone
    sources = json.loads(together)["export_metadata"]["sources"]
    assert sources["memory"]["records"] > 0 and sources["analytics_agents"]["records"] > 0
