"""Shared fixtures.

End-to-end export (tests/test_export_e2e.py, tests/test_export_figures.py): the installed
``learnexport`` command run as a subprocess, and sample projects generated once per session
(``small``: seed 11, ``typical``: seed 5) and exported once with the default output path,
with a snapshot of the project tree before and after the run.

Hypothesis profiles (at the end): ``ci``, the default of the leak property tests (500
examples), and ``deep`` (20,000), chosen with ``HYPOTHESIS_PROFILE=deep``; see
docs/privacy.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from learnexport.sample import SampleInfo, generate


@pytest.fixture(scope="session")
def damaged_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample project with a truncated and a broken JSON line (seed 21), shared by
    the tests that compare two ways of reading the same project (streaming, parallel)."""
    root = tmp_path_factory.mktemp("damaged-small")
    generate(root, "small", seed=21, corrupt=True)
    return root


# ---- end-to-end export ---------------------------------------------------------------------

SMALL_SEED = 11
TYPICAL_SEED = 5


def _installed_command() -> Path:
    found = shutil.which("learnexport")
    if found:
        return Path(found)
    beside = Path(sys.executable).parent / "learnexport"
    if not beside.exists():
        pytest.fail("the learnexport command is not installed (pip install -e .)")
    return beside


def tree_snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (relative path → sha256, "dir" or "link:<target>"),
    ``.tapps-agents/exports/`` left out."""
    out: dict[str, str] = {}
    exports = root / ".tapps-agents" / "exports"
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == exports:
            dirs[:] = []
            continue
        for name in dirs:
            if here / name != exports:
                out[str((here / name).relative_to(root))] = "dir"
        for name in files:
            path = here / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = f"link:{os.readlink(path)}"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass(frozen=True)
class ExportRun:
    """One ``learnexport export PROJECT --yes`` run and what it left behind."""

    project: Path
    path: Path  # the export file (by default .tapps-agents/exports/learning-export-*.json)
    result: subprocess.CompletedProcess[str]
    before: dict[str, str]  # tree_snapshot before the run
    after: dict[str, str]  # and after
    days: frozenset[str]  # UTC dates (YYYYMMDD) while the command ran
    info: SampleInfo | None = None

    @property
    def text(self) -> str:
        return self.path.read_text("utf-8")

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.text)


class Cli:
    """Runs the installed command; stdin is never a terminal (it is /dev/null)."""

    def __init__(self, command: Path, workdir: Path) -> None:
        self.command, self.workdir = command, workdir

    def run(self, *args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}
        return subprocess.run(
            [str(self.command), *map(str, args)], cwd=cwd or self.workdir, env=env,
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    def ok(self, *args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, cwd=cwd)
        assert result.returncode == 0, f"learnexport {args} exited {result.returncode}:\n" \
            f"{result.stdout}\n{result.stderr}"
        return result

    def export(self, project: Path, *args: object, output: Path | None = None,
               info: SampleInfo | None = None) -> ExportRun:
        """``export PROJECT --yes [ARGS]`` (default output path unless ``output``)."""
        before = tree_snapshot(project)
        start = dt.datetime.now(dt.UTC)
        extra: Iterable[object] = ("-o", output) if output is not None else ()
        result = self.ok("export", project, "--yes", *args, *extra)
        end = dt.datetime.now(dt.UTC)
        days = frozenset({f"{start:%Y%m%d}", f"{end:%Y%m%d}"})
        if output is None:
            written = sorted((project / ".tapps-agents" / "exports").glob("learning-export-*"))
            assert len(written) == 1, written
            path = written[0]
        else:
            path = output
        return ExportRun(project, path, result, before, tree_snapshot(project), days, info)


@pytest.fixture(scope="session")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The installed ``learnexport`` command, run from a neutral working folder."""
    return Cli(_installed_command(), tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    """A ``small`` sample (seed 11). Shared: tests that change files use their own copy."""
    return generate(tmp_path_factory.mktemp("small") / "project", "small", SMALL_SEED)


@pytest.fixture(scope="session")
def typical_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    """A ``typical`` sample (seed 5)."""
    return generate(tmp_path_factory.mktemp("typical") / "project", "typical", TYPICAL_SEED)


@pytest.fixture(scope="session")
def small_export(cli: Cli, small_sample: SampleInfo) -> ExportRun:
    """The small sample exported once, to the default path, by the installed command."""
    return cli.export(small_sample.root, info=small_sample)


@pytest.fixture(scope="session")
def typical_export(cli: Cli, typical_sample: SampleInfo) -> ExportRun:
    return cli.export(typical_sample.root, info=typical_sample)


@pytest.fixture(params=["small", "typical"])
def sample_export(request: pytest.FixtureRequest) -> ExportRun:
    """Each of the two session exports in turn."""
    return request.getfixturevalue(f"{request.param}_export")


@pytest.fixture
def fresh_small(tmp_path: Path) -> SampleInfo:
    """A small sample of this test's own (same seed, same bytes as ``small_sample``)."""
    return generate(tmp_path / "project", "small", SMALL_SEED)


# ---- hypothesis profiles -------------------------------------------------------------------
# ``ci`` is what tests/test_leak_properties.py runs by default; ``deep`` is selected with
# HYPOTHESIS_PROFILE=deep (it then also becomes the default of every property test that
# does not fix its own max_examples). Both have no deadline: an example is a whole export.

settings.register_profile("ci", max_examples=500, deadline=None, print_blob=True)
settings.register_profile("deep", max_examples=20_000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
