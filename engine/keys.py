"""The hash key: where it comes from, how it is checked, and its public id.

A key is at least 16 bytes of secret. It comes, in this order, from ``--hash-key-file``,
from the policy's ``hash.key`` (``env:NAME`` or ``file:PATH``, a relative path being taken
from the policy file's folder), or, for a project export, from the project's own key
``.tapps-agents/exports/.hash-key``, created once (32 random bytes, hex, mode 0600).
A key file readable by group or others is refused. The key never appears in any output;
its *id* (a 12-hex fingerprint) does, so that a rotation is visible.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, Location, OutputError

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


def from_spec(spec: str, base_dir: Path | None = None, where: Location | None = None) -> HashKey:
    """A key from ``env:NAME`` or ``file:PATH`` (``where``: the policy's hash.key, for
    errors)."""
    kind, _, name = spec.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise InputError(f"the hash key variable {name} is not set",
                             hint=f"set it with: export {name}=... (at least {MIN_KEY_BYTES} "
                             "characters), or give the key in a file with --hash-key-file",
                             location=where)
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
    except OSError as exc:  # a symlink loop, a file where a folder should be, an I/O error
        raise InputError(f"{path}: the hash key file cannot be read: {exc.strerror or exc}",
                         hint="name a readable key file") from None
    return _checked(raw.strip(), source or f"file:{path}")


def _checked(secret: bytes, source: str) -> HashKey:
    if len(secret) < MIN_KEY_BYTES:
        raise InputError(f"the hash key from {source} is {len(secret)} bytes; at least "
                         f"{MIN_KEY_BYTES} are needed",
                         hint="create a strong one with: learnexport key new FILE")
    return HashKey(secret, source)


def create_key_file(path: Path) -> HashKey:
    """Write a new random key (mode 0600 from the start); refuses to overwrite.

    The key is written whole to a private temporary file beside ``path`` and then linked
    into place (a link never replaces an existing file), so an interruption, a full disk
    or a race leaves either no key or the whole key, never an empty or partial one."""
    text = secrets.token_hex(32).encode("ascii")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file where a folder should be
        blocker = next((p for p in path.parents if p.exists()), path.parent)
        raise OutputError(f"{blocker}: is a file, not a folder; no key was written",
                          hint="move the file away, or give a key with --hash-key-file"
                          ) from None
    except OSError as exc:
        raise _not_created(path, exc) from None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except FileExistsError:
        if path.is_dir():
            raise OutputError(f"{path}: is a folder; no key was written",
                              hint=f"name the key file itself, e.g. {path / 'hash.key'}"
                              ) from None
        raise OutputError(f"{path}: a key file is already there; not overwritten",
                          hint="delete it first to rotate the key (old hashes will not match)"
                          ) from None
    except OSError as exc:
        raise _not_created(path, exc) from None
    return HashKey(text, f"file:{path}")


def _not_created(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot create the key file: {exc.strerror}; no key was "
                       "written")


def project_key(project: Path) -> HashKey:
    """The project's key, created on first use."""
    path = project / PROJECT_KEY
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        create_key_file(path)
    except OSError as exc:  # e.g. .tapps-agents/ or exports/ cannot be searched
        raise InputError(f"{path}: the project's hash key cannot be read "
                         f"({(exc.strerror or str(exc)).lower()})",
                         hint="check the permissions of .tapps-agents/exports/, or give a "
                         "key with --hash-key-file") from None
    return read_key_file(path, source=f"project:{PROJECT_KEY}")


def resolve(spec: str | None, base_dir: Path | None, key_file: Path | None = None,
            project: Path | None = None, where: Location | None = None) -> HashKey | None:
    """The key for a run: ``--hash-key-file``, else the policy's ``hash.key``, else the
    project's own key (created on first use) when there is a project, else none."""
    if key_file is not None:
        return read_key_file(key_file)
    if spec:
        return from_spec(spec, base_dir, where)
    if project is not None:
        return project_key(project)
    return None
