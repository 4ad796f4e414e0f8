"""The documents the policy tools run on, and the fixed key and clock they use.

``explain``, ``lint`` and ``diff`` run a policy on a *sample*: a document file
(``--sample DOC``), a project's collected document (``--project DIR``), or by default a
generated sample project (``learnexport sample``, size ``small``, seed 0) collected as
``export`` would. A generated sample is made deterministic: its project root and
collection time, the two values that depend on where and when it was made, are fixed.

Hashes are computed with the fixed key ``docs-example-key`` (``TEST_KEY``), never the
policy's own key: a tool run needs no secret, and hash values are the same in every run.

A tool follows every value through every rule, so its time grows with the records times
the rules: a list longer than ``RECORDS`` is cut to its first ``RECORDS`` records (the
label says so, and how many were left out), unless ``all_records``. A project's analytics
run to a million lines; its first thousand records show every rule at work (a field seen
only later, or a filter that only later records pass, is what the cut can miss).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import docio, sample
from ..cases import EXAMPLE_KEY
from ..errors import InputError, UsageError
from ..keys import HashKey
from ..paths import json_copy
from ..policy import Policy
from ..provenance import Stamp

TEST_KEY = HashKey(EXAMPLE_KEY, "policy-test-key")
TEST_CLOCK = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SAMPLE_ROOT = "/home/dev/sample-project"
DEFAULT_SIZE, DEFAULT_SEED = "small", 0
RECORDS = 1_000  # the records of a list the tools read (see above)
_GENERATED = re.compile(r"(?P<size>[a-z]+)(?::(?P<seed>[0-9]+))?\Z")


@dataclass(frozen=True)
class Sample:
    document: Any
    label: str  # read after "on": a file, "project DIR", "the generated sample small:0"


def generated(size: str = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> Any:
    """The collected document of a generated sample project (a fresh copy each call)."""
    if size not in sample.SIZES:
        raise UsageError(f"unknown sample size '{size}'",
                         hint=f"use one of: {', '.join(sample.SIZES)}")
    return json_copy(_generated(size, seed))


@functools.cache
def _generated(size: str, seed: int) -> Any:
    from ..api import collect  # the public entry point of the collector

    with tempfile.TemporaryDirectory(prefix="learnexport-sample-") as folder:
        root = Path(folder) / "sample-project"
        sample.generate(root, size, seed)
        document = collect(root)
    document["project"]["root"] = SAMPLE_ROOT
    document["collection"]["collected_at"] = TEST_CLOCK.isoformat()
    return document


def load(sample_arg: str | None = None, project: Path | None = None, *,
         all_records: bool = False) -> Sample:
    """The sample named by ``--sample`` / ``--project`` (default: a generated one), each
    list cut to its first ``RECORDS`` records unless ``all_records``. ``--sample`` is a
    document file or, when no such file exists, ``SIZE[:SEED]``."""
    if sample_arg is not None and project is not None:
        raise UsageError("give --sample or --project, not both")
    if project is not None:
        chosen, (lists, left_out) = _project(project, None if all_records else RECORDS)
    else:
        chosen, (lists, left_out) = _load(sample_arg), (0, 0)
    if not all_records:
        more = cut_lists(chosen.document, RECORDS)
        lists, left_out = lists + more[0], left_out + more[1]
    if not lists:
        return chosen
    return Sample(chosen.document, f"{chosen.label}, the first {RECORDS:,} records of each "
                  f"list ({left_out:,} records of {lists} "
                  f"list{'s' * (lists != 1)} left out; --all-records reads them)")


def cut_lists(document: Any, limit: int) -> tuple[int, int]:
    """Cut every list in ``document`` longer than ``limit`` to its first ``limit`` items,
    in place; (how many lists were cut, how many items left out)."""
    lists = left_out = 0
    stack = [document]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            stack.extend(v for v in node.values() if type(v) in (dict, list))
        elif type(node) is list:
            if len(node) > limit:
                lists, left_out = lists + 1, left_out + len(node) - limit
                del node[limit:]
            stack.extend(v for v in node if type(v) in (dict, list))
    return lists, left_out


def _project(project: Path, limit: int | None) -> tuple[Sample, tuple[int, int]]:
    """A project's collected document, its record streams read once and only their first
    ``limit`` records kept (all without a limit): the memory of a million analytics lines
    is never taken. (lists cut, records left out)."""
    from ..collector import collect, read_streams

    cut: list[int] = []
    document = read_streams(collect(project, lazy=True), limit, cut)
    return Sample(document, f"project {project}"), (len(cut), sum(cut))


def _load(sample_arg: str | None) -> Sample:
    """The sample document ``--sample`` names (a file, or a generated SIZE[:SEED])."""
    if sample_arg is None:
        return Sample(generated(), f"the generated sample {DEFAULT_SIZE}:{DEFAULT_SEED}")
    found = _GENERATED.match(sample_arg)
    if found and found["size"] in sample.SIZES and not Path(sample_arg).exists():
        size, seed = found["size"], int(found["seed"] or DEFAULT_SEED)
        return Sample(generated(size, seed), f"the generated sample {size}:{seed}")
    if sample_arg != "-" and not Path(sample_arg).exists():
        raise InputError(f"{sample_arg}: no such sample document",
                         hint="name a JSON or YAML document, or a generated sample: "
                         f"{', '.join(sample.SIZES)} (optionally SIZE:SEED)")
    if Path(sample_arg).is_dir():
        raise InputError(f"{sample_arg}: is a folder, not a document",
                         hint=f"for a project's data, use --project {sample_arg}")
    return Sample(docio.read_document(sample_arg), sample_arg)


def stamp_for(policy: Policy, document: Any, key: HashKey = TEST_KEY) -> Stamp | None:
    """The export metadata stamp a run of ``policy`` gets, at the fixed ``TEST_CLOCK``."""
    if not policy.stamp:
        return None
    stamp = Stamp(policy, document, key)
    stamp.now = lambda: TEST_CLOCK
    return stamp
