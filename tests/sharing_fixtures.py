"""Helpers for the dashboard, submit and aggregate tests (tests/test_dashboard.py,
test_submit.py, test_fleet.py): real exports of generated samples, the installed command
run as a subprocess, and a runner for the command examples in the docs."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from learnexport.api import export
from learnexport.sample import generate

ROOT = Path(__file__).resolve().parents[1]
INSTALL_DASK = "pip install -e '.[test,dask]'"
INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium"


def command() -> Path:
    """The installed ``learnexport`` console script of this Python."""
    beside = Path(sys.executable).parent / "learnexport"
    found = beside if beside.exists() else shutil.which("learnexport")
    if not found:
        pytest.fail("the learnexport command is not installed: pip install -e '.[test]'")
    return Path(found)


def run_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``learnexport ARGS`` with stdin not a terminal (so consent is never asked)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}
    env["COLUMNS"] = "100"
    return subprocess.run([str(command()), *map(str, args)], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def make_export(folder: Path, seed: int, size: str = "small") -> Path:
    """A real export (default policy, the project's own key) of a fresh sample project."""
    project = folder / f"project-{seed}"
    generate(project, size, seed)
    path = export(project, output=folder / f"export-{seed}.json").path
    assert path is not None
    return path


# ---- command examples in the docs ---------------------------------------------------------


def documented_shape(markdown: str, name: str) -> Any:
    """The JSON of the ```json block right after ``<!-- shape: NAME -->``."""
    found = re.search(rf"<!-- shape: {name} -->\n```json\n(.*?)\n```", markdown, re.S)
    assert found, f"the docs show no ```json block marked <!-- shape: {name} -->"
    return json.loads(found[1])


def keys(value: Any, path: str = "") -> set[str]:
    """Every key path in a JSON value (``a.b``, ``a.list[].c``; a list by its first item)."""
    if isinstance(value, dict):
        return {f"{path}.{k}" for k in value} | {p for k, v in value.items()
                                                 for p in keys(v, f"{path}.{k}")}
    if isinstance(value, list) and value:
        return keys(value[0], f"{path}[]")
    return set()


@dataclass(frozen=True)
class Example:
    line: int  # of the command in the Markdown file
    argv: tuple[str, ...]
    expected: tuple[str, ...]  # output lines shown in the docs, in order
    exit_code: int = 0


_EXIT = re.compile(r"\[exit (\d+)\]\Z")


def console_examples(markdown: str) -> list[Example]:
    """Every ``$ command`` of the ```console blocks, with the output lines shown under it.
    ``...`` in a shown line matches any text; a shown line ``[exit N]`` is the exit code.
    Commands run without a shell: quoting as in a shell, ``*`` expanded, nothing else."""
    examples: list[Example] = []
    in_block = False
    current: dict | None = None
    for number, line in enumerate(markdown.splitlines(), 1):
        if line.startswith("```"):
            in_block = line.strip() == "```console"
            continue
        if not in_block:
            continue
        if line.startswith("$ "):
            if current:
                examples.append(Example(**current))
            current = {"line": number, "argv": tuple(shlex.split(line[2:])), "expected": ()}
        elif current is not None and line.strip():
            match = _EXIT.match(line.strip())
            if match:
                current["exit_code"] = int(match[1])
            else:
                current["expected"] += (line.rstrip(),)
    if current:
        examples.append(Example(**current))
    return examples


def _pattern(shown: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in shown.split("...")) + r"\Z")


def _expand(arg: str, workdir: Path) -> list[str]:
    """A ``*`` pattern expanded in ``workdir`` as a shell would (sorted; kept if nothing
    matches)."""
    if "*" not in arg:
        return [arg]
    return sorted(str(p.relative_to(workdir)) for p in workdir.glob(arg)) or [arg]


def check_example(example: Example, workdir: Path, shown_in: str) -> None:
    """Run one documented command in ``workdir``; its output must show the lines the docs
    show, in that order (lines the docs leave out may come between them)."""
    argv = [arg for given in example.argv for arg in _expand(given, workdir)]
    if argv[0] == "learnexport":
        argv[0] = str(command())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}
    result = subprocess.run(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=300)
    where = f"{shown_in}:{example.line}: $ {shlex.join(example.argv)}"
    output = (result.stdout + result.stderr).splitlines()
    assert result.returncode == example.exit_code, \
        f"{where}\nexited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    position = 0
    for shown in example.expected:
        pattern = _pattern(shown.rstrip())
        while position < len(output) and not pattern.match(output[position].rstrip()):
            position += 1
        assert position < len(output), f"{where}\nthe docs show {shown!r}, the command " \
            f"printed:\n" + "\n".join(output)
        position += 1
