"""Git, where the policy tools need it: a policy at a revision, and where a file stands.

``policy diff`` takes ``REV:path`` (``HEAD:policies/default.yaml``, ``main:./x.yaml``) as
``git show`` reads it, from the repository of the current folder. ``policy lint`` asks
whether a hash key file is inside a git work tree, and whether git ignores it there.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, PolicyError
from ..policy import MAX_POLICY_BYTES, Policy, load_policy, parse_policy

GIT_TIMEOUT = 30


def load_spec(spec: str) -> Policy:
    """A policy from a file, or from ``REV:path`` in git when no such file exists."""
    if Path(spec).exists() or ":" not in spec or _windows_drive(spec):
        return load_policy(spec)
    revision, _, path = spec.partition(":")
    raw = _git(["show", f"{revision}:{path}"], Path.cwd(), spec)
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"{spec}: is {len(raw)} bytes; a policy is at most {MAX_POLICY_BYTES}")
    return parse_policy(raw, spec, base_dir=(Path.cwd() / path).parent)


def _windows_drive(spec: str) -> bool:
    return len(spec) > 2 and spec[1] == ":" and spec[0].isalpha() and spec[2] in "\\/"


def _git(args: list[str], cwd: Path, spec: str) -> bytes:
    git = shutil.which("git")
    if git is None:
        raise InputError(f"{spec}: reading a policy at a git revision needs git, and git is "
                         "not installed", hint="install git, or give the old policy as a file")
    try:
        done = subprocess.run([git, *args], cwd=cwd, capture_output=True,
                              timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{spec}: git failed: {exc}") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{spec}: no such file, and git cannot read it as REV:path"
                         + (f" ({why[-1].removeprefix('fatal: ').rstrip('.')})" if why else ""),
                         hint="name a policy file, or a revision and a path as git show "
                         "takes them, e.g. HEAD:policies/default.yaml or main:./my.yaml")
    return done.stdout


@dataclass(frozen=True)
class GitPlace:
    work_tree: Path | None  # the work tree the file is in, if any
    tracked: bool = False
    ignored: bool = False


def place_of(path: Path) -> GitPlace:
    """Where ``path`` stands with respect to git (it need not exist)."""
    absolute = path.expanduser().resolve()
    tree = next((p for p in absolute.parents if (p / ".git").exists()), None)
    git = shutil.which("git")
    if tree is None or git is None:
        return GitPlace(tree)
    rel = str(absolute.relative_to(tree))
    tracked = _quiet([git, "ls-files", "--error-unmatch", "--", rel], tree)
    ignored = not tracked and _quiet([git, "check-ignore", "-q", "--", rel], tree)
    return GitPlace(tree, tracked, ignored)


def _quiet(command: list[str], cwd: Path) -> bool:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
