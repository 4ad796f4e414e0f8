"""Every command shown in docs/cli.md runs as shown (in order, in one empty folder beside
a copy of the shipped policies), so the command reference cannot drift."""

from __future__ import annotations

import shutil
from pathlib import Path

from sharing_fixtures import check_example, console_examples

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli.md"


def test_every_command_in_the_cli_reference_runs_as_shown(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    work = tmp_path / "work"
    work.mkdir()
    examples = console_examples(DOC.read_text("utf-8"))
    commands = {example.argv[1] for example in examples}
    assert {"sample", "collect", "export", "validate", "migrate", "apply", "key"} <= commands
    for example in examples:
        check_example(example, work, "docs/cli.md")
