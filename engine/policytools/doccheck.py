"""The worked examples of a guide are real: each ``console`` block is run and compared.

A block holds commands (``$ command``) each followed by its output, stdout and stderr as
a terminal shows them; a last line ``[exit N]`` shows a non-zero exit code. The commands
run with ``bash`` in the given folder (the repository), with the ``learnexport`` command
under test first on the PATH. ``check`` lists the differences; ``--update`` rewrites the
outputs in place::

    python -m learnexport.policytools.doccheck docs/auditing.md [--update]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BLOCK = re.compile(r"^```console\n(.*?)^```$", re.M | re.S)
EXIT = re.compile(r"\[exit \d+\]\Z")


@dataclass(frozen=True)
class Example:
    command: str
    output: tuple[str, ...]


def examples(body: str) -> list[Example]:
    out: list[Example] = []
    command: str | None = None
    lines: list[str] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            if command is not None:
                out.append(Example(command, tuple(lines)))
            command, lines = line[2:], []
        elif command is not None and command.endswith("\\"):
            command = command[:-1] + line.strip()
        else:
            lines.append(line)
    if command is not None:
        out.append(Example(command, tuple(lines)))
    return out


def run(example: Example, cwd: Path, learnexport: str) -> tuple[str, ...]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNEXPORT_", "GIT_"))}
    env["PATH"] = f"{Path(learnexport).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "100"
    done = subprocess.run(["bash", "-c", example.command], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
                          stdin=subprocess.DEVNULL)
    lines = [line.rstrip() for line in done.stdout.splitlines()]
    if done.returncode:
        lines.append(f"[exit {done.returncode}]")
    return tuple(lines)


def check(doc: Path, cwd: Path, learnexport: str) -> list[str]:
    problems = []
    for match in BLOCK.finditer(doc.read_text("utf-8")):
        for example in examples(match.group(1)):
            got = run(example, cwd, learnexport)
            if got != example.output:
                problems.append(f"$ {example.command}\n--- shown\n" + "\n".join(example.output)
                                + "\n--- real\n" + "\n".join(got))
    return problems


def update(doc: Path, cwd: Path, learnexport: str) -> None:
    def block(match: re.Match[str]) -> str:
        shown = []
        for example in examples(match.group(1)):
            shown += [f"$ {example.command}", *run(example, cwd, learnexport)]
        return "```console\n" + "\n".join(shown) + "\n```"

    doc.write_text(BLOCK.sub(block, doc.read_text("utf-8")), "utf-8")


def main(argv: list[str]) -> int:
    doc = Path(argv[0])
    learnexport = str(Path(sys.executable).parent / "learnexport")
    if "--update" in argv:
        update(doc, Path.cwd(), learnexport)
        return 0
    problems = check(doc, Path.cwd(), learnexport)
    print("\n\n".join(problems) or f"{doc}: every example shows its real output")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
