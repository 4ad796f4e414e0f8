"""Reading input documents and writing results: strict on the way in, atomic on the way out.

Input is JSON or YAML (by extension; from stdin JSON is tried first), optionally gzipped.
JSON that is not strictly JSON is refused with line and column: NaN and Infinity,
duplicate keys (which would silently lose one value), nesting too deep to process.
Output is written to a temporary file beside the target and renamed into place, so a
reader never sees half a file and a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import math
import os
import re
import stat
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from . import yamlsafe
from .columns import MAX_DEPTH, deeper_than_allowed
from .errors import InputError, Location, OutputError
from .streams import fast_loads

MAX_INPUT_BYTES = 2 * 1024**3


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return out


def parse_json(text: str | bytes, shown: str) -> Any:
    """Strict JSON: no NaN/Infinity, no duplicate keys; errors carry line:column.

    orjson parses first (several times faster); the strict decoder runs only when orjson
    fails or a check says it may have lost something (a duplicate key, a long integer),
    and gives the exact message."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    fast = fast_loads(raw)
    if fast is not None:  # (a document that is just null takes the strict way: same value)
        return fast
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constants, parse_float=_finite,
                           object_pairs_hook=_unique_pairs)
        if not deeper_than_allowed(value):
            return value
        raise RecursionError
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", location=Location(shown, exc.lineno,
                         exc.colno), hint="fix the file, or check that it is the right one"
                         ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte at offset {exc.start})",
                         location=Location(shown), hint="save it as UTF-8 JSON") from None
    except RecursionError:
        raise InputError(f"nested too deeply (more than {MAX_DEPTH} levels)",
                         location=Location(shown),
                         hint=f"keep nesting to {MAX_DEPTH} levels at most (JSON and YAML alike)"
                         ) from None
    except ValueError as exc:
        line, column = _position(text, exc)
        raise InputError(f"not valid JSON: {exc}", location=Location(shown, line, column),
                         hint="JSON has no NaN or Infinity, and each key once per object"
                         ) from None


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent; one beyond a float's range (``1e400``)
    is refused, as orjson refuses it: read as infinity, it would be written as null."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _position(text: str | bytes, exc: ValueError) -> tuple[int | None, int | None]:
    """Where the NaN/Infinity or the repeated key stands (the first such token, or the
    second occurrence of the key): the hooks that refuse them do not know positions."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    message = str(exc)
    if message.startswith("duplicate key"):
        key = message[len("duplicate key "):]
        hits = [m.start() for m in re.finditer(re.escape(json.dumps(eval_key(key))) + r"\s*:",
                                               text)]
        offset = hits[1] if len(hits) > 1 else None
    elif message.startswith("number "):  # out of range: the literal itself, not in a text
        found = re.search(r'(?<![\w".])' + re.escape(message.split()[1]) + r"(?![\w.])", text)
        offset = found.start() if found else None
    else:
        found = re.search(r"(?<![\w\"])-?(NaN|Infinity)(?![\w\"])", text)
        offset = found.start() if found else None
    if offset is None:
        return None, None
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def eval_key(shown: str) -> str:
    """The key text from its repr in the message (``'a'`` → ``a``)."""
    return shown[1:-1] if len(shown) >= 2 and shown[0] == shown[-1] and shown[0] in "'\"" \
        else shown


# what reading damaged gzip data raises: a cut file (EOFError), a bad header (OSError),
# damaged compressed data (zlib.error)
GZIP_ERRORS = (OSError, EOFError, zlib.error)


def gzipped(name: str) -> bool:
    """Whether a file of this name is (to be) gzip: it ends in .gz, in any case."""
    return name.lower().endswith(".gz")


def shown(source: str) -> str:
    """How an input is named in messages: ``-`` is ``<stdin>``."""
    return "<stdin>" if source == "-" else source


def read_bytes(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    where = Location(source)
    try:
        if path.is_dir():
            raise InputError("is a folder, not a document", location=where,
                             hint="name a .json or .yaml file (for a project, use export)")
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise InputError("is larger than 2 GiB", location=where,
                             hint="use apply --jsonl to stream JSON lines")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", location=where, hint="check the path") from None
    except PermissionError:
        raise InputError("cannot be read (permission denied)", location=where,
                         hint=f"check its permissions: ls -l {source}") from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", location=where) from None
    if gzipped(source):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as packed:
                data = packed.read(MAX_INPUT_BYTES + 1)  # a gzip bomb stops at the limit
        except GZIP_ERRORS as exc:
            raise InputError(f"not a valid gzip file: {exc}", location=where) from None
        if len(data) > MAX_INPUT_BYTES:
            raise InputError("expands to more than 2 GiB", location=where,
                             hint="use apply --jsonl to stream JSON lines")
    return data


def read_document(source: str) -> Any:
    """The document in ``source`` (a path or ``-`` for stdin)."""
    data = read_bytes(source)
    where = shown(source)
    name = source[:-3] if gzipped(source) else source
    if not data.strip():
        raise InputError("is empty", location=Location(where),
                         hint="give a JSON or YAML document")
    is_yaml = name.lower().endswith((".yaml", ".yml")) or (
        source == "-" and data.lstrip()[:1] not in (b"{", b"["))
    if not is_yaml:
        return parse_json(data, where)
    try:
        doc, _ = yamlsafe.load(data, where)
    except yamlsafe.YamlProblem as exc:
        raise InputError(str(exc), hint=exc.hint,
                         location=Location(where, exc.line, exc.column)) from None
    return doc


def encode_json(document: Any, pretty: bool = True) -> bytes:
    """UTF-8 JSON, indented by two spaces or compact, with a final newline (orjson; the
    json module for what orjson cannot write, such as integers beyond 64 bits)."""
    try:
        return orjson.dumps(document, option=_PRETTY if pretty else 0) + b"\n"
    except (orjson.JSONEncodeError, TypeError):
        pass
    layout: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    text = json.dumps(document, ensure_ascii=False, allow_nan=False, **layout)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (a JSON escape such as \ud800 in the input)
        return (json.dumps(document, ensure_ascii=True, allow_nan=False, **layout)
                + "\n").encode("ascii")


_PRETTY = orjson.OPT_INDENT_2


def write_atomic(path: Path, data: bytes, *, compress: bool | None = None,
                 private: bool = False, settle: Callable[[], None] | None = None) -> None:
    """Write ``data`` to ``path`` all or nothing (gzip when the name ends in .gz); mode
    0600 when ``private`` (raw data), else the usual 0644 less the umask. ``settle`` runs
    once the data is written and before it is let out (a failure there leaves nothing)."""
    if compress is None:
        compress = gzipped(path.name)
    if compress:
        data = gzip.compress(data, mtime=0)
    with atomic_output(path, private=private) as handle:
        try:
            handle.write(data)
        except OSError as exc:
            raise output_error(path, exc) from None
        if settle is not None:
            settle()


@contextlib.contextmanager
def atomic_output(path: Path, *, private: bool = False) -> Iterator[BinaryIO]:
    """A temporary file beside ``path`` to write into; when the block ends without an
    error it is synced, given the usual mode and renamed onto ``path`` (all or nothing),
    else removed. Refuses a folder and a device, pipe or socket (renaming onto
    ``/dev/null`` as root would replace the device). Errors of the body pass unchanged."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder", hint="name a file to write")
    if _special(path):
        raise OutputError(f"{path}: is not a regular file (a device, pipe or socket); "
                          "nothing was written", hint="name a regular file to write")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise output_error(path, exc) from None
    handle = os.fdopen(fd, "wb")
    done = False
    try:
        yield handle
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.chmod(tmp_name, 0o600 if private else 0o644 & ~_umask())
            os.replace(tmp_name, path)
        except OSError as exc:
            raise output_error(path, exc) from None
        done = True
    finally:
        if not done:
            with contextlib.suppress(OSError):
                handle.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _special(path: Path) -> bool:
    """True when ``path`` (followed) exists and is neither a regular file nor a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def output_error(path: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{path}: the disk is full; nothing was written",
                           hint="free some space, or write elsewhere")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path}: cannot write there (permission denied); nothing was "
                           "written", hint="choose a folder you can write to")
    if exc.errno == errno.ENOENT and not os.path.isdir(path.parent or "."):
        return OutputError(f"{path}: the folder does not exist; nothing was written",
                           hint=f"create it first: mkdir -p {path.parent}")
    if exc.errno == errno.ENOENT:  # the folder is there but takes no new files (/proc)
        return OutputError(f"{path}: cannot create a file in that folder; nothing was "
                           "written", hint="choose a folder you can write to")
    return OutputError(f"{path}: cannot write: {exc.strerror}; nothing was written")
