"""The hash key: where it comes from, how it is checked, and its public id.

A key is at least 16 bytes of secret. It comes, in this order, from ``--hash-key-file``,
from the policy's ``hash.key`` (``env:NAME`` or ``file:PATH``, a relative path being taken
from the policy file's folder), or, for a project export, from the project's own key
``.tapps-agents/exports/.hash-key``, created once (32 random bytes, hex, mode 0600).
A key file readable by group or others is refused. The key never appears in any output;
its *id* (a 12-hex fingerprint) does, so that a rotation is visible.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, OutputError

MIN_KEY_BYTES = 16
PROJECT_KEY = Path(".tapps-agents") / "exports" / ".hash-key"


@dataclass(frozen=True)
class HashKey:
    secret: bytes = field(repr=False)
    source: str  # "env:NAME", "file:PATH" or "project:PATH": never the secret

    @property
    def id(self) -> str:
        return key_id(self.secret)


def key_id(secret: bytes) -> str:
    """A public fingerprint of the key (not the key, not a hash usable as one)."""
    return hashlib.sha256(b"learnexport key id\0" + secret).hexdigest()[:12]


def from_spec(spec: str, base_dir: Path | None = None) -> HashKey:
    """A key from ``env:NAME`` or ``file:PATH``."""
    kind, _, name = spec.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise InputError(f"the hash key variable {name} is not set",
                             hint=f"export {name}=... (at least {MIN_KEY_BYTES} characters), "
                             "or give the key in a file with --hash-key-file")
        return _checked(value.encode("utf-8"), spec)
    path = Path(name).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return read_key_file(path)


def read_key_file(path: Path, source: str | None = None) -> HashKey:
    """Read a key file, refusing one that others can read."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path}: is a folder, not a key file", hint="name the key file")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InputError(
                f"{path}: the hash key file can be read by others "
                f"(mode {stat.S_IMODE(info.st_mode):04o})",
                hint=f"make it private: chmod 600 {path}",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such hash key file",
                         hint=f"create one with: learnexport key new {path}") from None
    except PermissionError:
        raise InputError(f"{path}: the hash key file cannot be read (permission denied)",
                         hint="run as the key's owner") from None
    return _checked(raw.strip(), source or f"file:{path}")


def _checked(secret: bytes, source: str) -> HashKey:
    if len(secret) < MIN_KEY_BYTES:
        raise InputError(f"the hash key from {source} is {len(secret)} bytes; at least "
                         f"{MIN_KEY_BYTES} are needed",
                         hint="create a strong one with: learnexport key new FILE")
    return HashKey(secret, source)


def create_key_file(path: Path) -> HashKey:
    """Write a new random key (mode 0600 from the start); refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(32).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OutputError(f"{path}: a key file is already there; not overwritten",
                          hint="delete it first to rotate the key (old hashes will not match)"
                          ) from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the key file: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(text + b"\n")
    return HashKey(text, f"file:{path}")


def project_key(project: Path) -> HashKey:
    """The project's key, created on first use."""
    path = project / PROJECT_KEY
    if not path.exists():
        create_key_file(path)
    return read_key_file(path, source=f"project:{PROJECT_KEY}")


def resolve(spec: str | None, base_dir: Path | None, key_file: Path | None = None,
            project: Path | None = None) -> HashKey | None:
    """The key for a run: ``--hash-key-file``, else the policy's ``hash.key``, else the
    project's own key (created on first use) when there is a project, else none."""
    if key_file is not None:
        return read_key_file(key_file)
    if spec:
        return from_spec(spec, base_dir)
    if project is not None:
        return project_key(project)
    return None
