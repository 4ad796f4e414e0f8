"""The documents the policy tools run on, and the fixed key and clock they use.

``explain``, ``lint`` and ``diff`` run a policy on a *sample*: a document file
(``--sample DOC``), a project's collected document (``--project DIR``), or by default a
generated sample project (``learnexport sample``, size ``small``, seed 0) collected as
``export`` would. A generated sample is made deterministic: its project root and
collection time, the two values that depend on where and when it was made, are fixed.

Hashes are computed with the fixed key ``docs-example-key`` (``TEST_KEY``), never the
policy's own key: a tool run needs no secret, and hash values are the same in every run.
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


def load(sample_arg: str | None = None, project: Path | None = None) -> Sample:
    """The sample named by ``--sample`` / ``--project`` (default: a generated one).
    ``--sample`` is a document file or, when no such file exists, ``SIZE[:SEED]``."""
    if sample_arg is not None and project is not None:
        raise UsageError("give --sample or --project, not both")
    if project is not None:
        from ..api import collect

        return Sample(collect(project), f"project {project}")
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
    return Sample(docio.read_document(sample_arg), sample_arg)


def stamp_for(policy: Policy, document: Any, key: HashKey = TEST_KEY) -> Stamp | None:
    """The export metadata stamp a run of ``policy`` gets, at the fixed ``TEST_CLOCK``."""
    if not policy.stamp:
        return None
    stamp = Stamp(policy, document, key)
    stamp.now = lambda: TEST_CLOCK
    return stamp
