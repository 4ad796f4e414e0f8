"""Framework-wide figures from many projects' exports (``learnexport aggregate``).

``aggregate(inputs, min_projects=5, engine="local")`` reads exports and submission
packages (inputs.py), keeps each project's newest export, computes the figures on the
chosen engine (local.py: a process pool; dask_engine.py: a dask bag on a Dask cluster;
both run combine.py) and publishes them with every figure from fewer than K projects
suppressed. The result names no project, holds no per-project row and no hashed custom
id, and passes the leak check before it is returned. Output format: docs/maintainers.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import choices, leakcheck
from ..errors import UsageError
from . import combine, inputs

ENGINES = ("local", "dask")
DEFAULT_MIN_PROJECTS = choices.DEFAULT_MIN_PROJECTS
LOWEST_MIN_PROJECTS = 2

__all__ = ["DEFAULT_MIN_PROJECTS", "ENGINES", "aggregate"]


def _check_options(min_projects: int, engine: str, scheduler: str | None) -> None:
    if min_projects < LOWEST_MIN_PROJECTS:
        raise UsageError(f"--min-projects {min_projects} is too low: a figure needs at least "
                         f"{LOWEST_MIN_PROJECTS} projects, or it is one project's own",
                         hint=f"the default is {DEFAULT_MIN_PROJECTS}")
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler is for the Dask engine", hint="add --engine dask")


def aggregate(paths: Iterable[str | Path], *, min_projects: int = DEFAULT_MIN_PROJECTS,
              engine: str = "local", scheduler: str | None = None,
              workers: int | None = None) -> dict[str, Any]:
    """The aggregate document of the exports and packages in ``paths``."""
    _check_options(min_projects, engine, scheduler)
    files = inputs.expand(paths)
    # every input goes to the engine: those that do not count (a project's older exports)
    # are checked there too, so a broken or tampered copy stops the run like any input
    items, duplicates = inputs.newest_per_project(
        [inputs.load(position, path) for position, path in enumerate(files)])
    if engine == "dask":
        from . import dask_engine

        partial = dask_engine.summarize(items, scheduler=scheduler, workers=workers)
    else:
        from . import local

        partial = local.summarize(items, workers=workers)
    combine.raise_failures(partial)
    document = combine.publish(partial, min_projects, inputs=len(files), duplicates=duplicates)
    leakcheck.enforce(document, tainted=set())
    return document
