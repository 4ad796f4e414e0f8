"""The ``learnexport`` Typer app and what every command shares: the error wrapper, the
output option and its checks, writing a result (``emit``), warnings, consent, progress.

Exit codes: 0 ok, 1 bad input or policy (or an action that cannot apply), 2 usage,
3 schema check failed, 4 leak check failed, 130 interrupted. Errors are one paragraph on
stderr, never a traceback (set LEARNEXPORT_DEBUG=1 to see one for an internal error).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from . import __version__, docio
from .errors import INTERRUPTED, LearnexportError, UsageError

app = typer.Typer(
    name="learnexport",
    help="Export TappsCodingAgents learning data, anonymized by declarative YAML policies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
key_app = typer.Typer(help="Create and inspect hash keys.", no_args_is_help=True)
app.add_typer(key_app, name="key")

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(func: F) -> F:
    """Turn learnexport errors into a message and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LearnexportError as exc:
            _fail(exc.render(), exc.exit_code)
        except KeyboardInterrupt:
            _fail(INTERRUPTED, 130)
        except BrokenPipeError:  # the reader went away (| head): nothing more to say
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
            raise typer.Exit(1) from None
        except OSError as exc:  # the machine, not learnexport: a full disk, a loop, EIO
            where = exc.filename if exc.filename is not None else "<stdout>"
            _fail(f"{where}: {exc.strerror or exc}; the command stopped there", 1)
        except MemoryError:  # not a bug: an input larger than this machine can hold
            _fail("ran out of memory; nothing was written. Give a smaller input (JSON lines "
                  "stream with apply --jsonl), or run it where more memory is free", 1)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # a bug: say so plainly, keep the details on request
            if os.environ.get("LEARNEXPORT_DEBUG"):
                raise
            _fail(f"internal error ({type(exc).__name__}: {exc}). This is a bug in "
                  "learnexport; rerun with LEARNEXPORT_DEBUG=1 to see where.", 70)

    return wrapper  # type: ignore[return-value]


def can_ask() -> bool:
    """Whether a person can answer the consent question (stdin is a terminal)."""
    return sys.stdin.isatty()


def need_consent(yes: bool, action: str) -> None:
    """Refuse (exit 2) to ``action`` off a terminal unless ``--yes`` gave consent."""
    if not yes and not can_ask():
        raise UsageError(f"refusing to {action} without consent: nothing was written",
                         hint="run it on a terminal to review what will be shared and "
                         "confirm, or pass --yes to consent")


def confirm(title: str, lines: Iterable[str], note: str | None = None) -> None:
    """Show what will be written and ask; declining ends the command (exit 2, the same
    code as refusing off a terminal)."""
    typer.echo(title)
    for line in lines:
        typer.echo(f"  {line}")
    if note:
        typer.echo(note)
    if not typer.confirm("Write it?", default=False):
        typer.echo("declined; nothing was written")
        raise typer.Exit(2)


def dash_is_stdout(value: Path | None) -> Path | None:
    """``-o -`` means stdout, as an INPUT of ``-`` means stdin (an option callback)."""
    return None if value is not None and str(value) == "-" else value


def dash_refused(value: Path | None) -> Path | None:
    """An option or argument that names a file or folder to write, never stdout (an
    option callback)."""
    if value is not None and str(value) == "-":
        raise typer.BadParameter("'-' (stdout) is not taken here: name a path")
    return value


_SUFFIXES = {"json": (".json",), "yaml": (".yaml", ".yml"), "html": (".html", ".htm"),
             "text": (".txt",)}


def output_fits(output: Path | None, written: str, hint: str | None = None) -> None:
    """Refuse an OUTPUT whose name says another format than the one written (``-o x.html``
    for text, ``-o x.json`` for YAML); a name with no known ending is taken as it is.
    ``hint``: what to do instead, when more than naming the output after what is written."""
    if output is None:
        return
    name = output.name.lower().removesuffix(".gz")
    said = next((kind for kind, ends in _SUFFIXES.items() if name.endswith(ends)), written)
    if said != written:
        end = _SUFFIXES[written][0]
        raise UsageError(f"{output}: the name says {said.upper()}, but this writes "
                         f"{written.upper()}; nothing was written",
                         hint=hint or f"name it {end} or {end}.gz (gzip when the name ends "
                         "in .gz)")


# the input of the commands that read one export
ExportArgument = Annotated[str, typer.Argument(
    metavar="EXPORT", help="An export (JSON or YAML, .gz ok), or - for stdin.")]

# the option of every command whose result goes to stdout unless named
OutputOption = Annotated[Path | None, typer.Option(
    "--output", "-o", callback=dash_is_stdout,
    help="Write here (gzip when the name ends in .gz); default (or -) stdout.")]


def emit(data: bytes, output: Path | None, *, private: bool = False,
         settle: Callable[[], None] | None = None) -> None:
    """Write a command's result: to stdout, or atomically to ``output`` (mode 0600 when
    ``private``: raw data). ``settle`` (writing a side file such as a report) runs before
    the result is let out, so that when it fails no result is left either."""
    if output is None:
        if settle is not None:
            settle()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        docio.write_atomic(output, data, private=private, settle=settle)


def warn(message: str) -> None:
    """A warning on stderr: the command goes on."""
    sys.stderr.write(f"learnexport: warning: {message}\n")


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"learnexport: {message}\n")
    raise typer.Exit(code)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"learnexport {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=version_callback,
                                          is_eager=True, help="Show the version.")] = False,
) -> None:
    """Export TappsCodingAgents learning data, anonymized by declarative YAML policies."""


@contextlib.contextmanager
def progress_for(label: str) -> Iterator[Callable[[str, int], None]]:
    """A rich progress line on a terminal (stderr); silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda source, count: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # refreshed on each tick, not by a thread: a process with threads must not fork, and
    # big exports read their streams in forked processes (engine/parallel.py)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, auto_refresh=False) as bar:
        task = bar.add_task(label)

        def tick(source: str, count: int) -> None:
            bar.update(task, description=f"{label}: {source} {count:,} records", refresh=True)

        yield tick
