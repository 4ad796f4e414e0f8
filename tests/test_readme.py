"""The README's examples run: its policy, and every line of its "Use" block, with the
placeholders (PROJECT, DIR, my.yaml, ...) filled in on a generated sample project."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from learnexport.sample import generate
from sharing_fixtures import command

README = Path(__file__).resolve().parent.parent / "README.md"
KEY = "readme-example-hash-key-0123456789abcdef"


def _block(after: str, language: str) -> str:
    text = README.read_text("utf-8")
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start:text.index("```", start)]


def _use_lines() -> list[str]:
    lines = [line.split(" # ")[0].strip() for line in _block("## Use", "sh").splitlines()]
    return [line for line in lines if line.startswith("learnexport ")]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readme")
    generate(root / "project", "small", 3)
    (root / "my.yaml").write_text(_block("A policy, in short", "yaml"), "utf-8")
    return root


def test_the_policy_in_short_applies_to_a_collected_sample(place: Path) -> None:
    env = {**os.environ, "LEARNEXPORT_HASH_KEY": KEY}
    run = [str(command()), "collect", "project", "-o", "raw.json"]
    assert subprocess.run(run, cwd=place, env=env, capture_output=True).returncode == 0
    done = subprocess.run([str(command()), "apply", "--policy", "my.yaml", "raw.json"],
                          cwd=place, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"task_id"' in done.stdout and "T" not in re.findall(
        r'"timestamp": "([^"]*)"', done.stdout)[0]


@pytest.mark.parametrize("line", _use_lines())
def test_every_line_of_the_use_block_runs(place: Path, line: str) -> None:
    """Off a terminal the two asking commands refuse (exit 2) as documented; the others
    succeed. The lines run in order on one folder, as a reader would type them."""
    filled = (line.replace("~/.config/learnexport/key", "key.file")
              .replace("exports/*.json", "export.json").replace("OLD.yaml NEW.yaml",
                                                               "my.yaml my.yaml")
              .replace("PROJECT", "project").replace(" DIR ", f" sample-{abs(hash(line))} "))
    args = shlex.split(filled)[1:]
    cwd = place / "project" if args == ["export"] else place
    if args[:1] == ["policy"] and args[1:2] == ["test"]:
        args += [str(Path(__file__).resolve().parent.parent / "policies")]
    env = {**os.environ, "LEARNEXPORT_HASH_KEY": KEY}
    for prerequisite in (["collect", "project", "-o", "raw.json"],
                         ["export", "project", "--yes", "-o", "export.json"]):
        if not (place / prerequisite[-1]).exists():
            subprocess.run([str(command()), *prerequisite], cwd=place, env=env, check=True,
                           capture_output=True)
    if args[:2] == ["key", "new"] and (place / "key.file").exists():
        (place / "key.file").unlink()
    done = subprocess.run([str(command()), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)
    asks = args == ["export"] or (args[:1] == ["submit"] and "--yes" not in args)
    expected = 2 if asks else 0
    assert done.returncode == expected, (filled, done.stderr)
    if asks:  # (exit 2 is also a usage error: a README line with a wrong option)
        assert "without consent" in done.stderr, (filled, done.stderr)
    assert "Traceback" not in done.stderr
