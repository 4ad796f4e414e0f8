"""The ``learnexport`` command. ``apply`` and ``key`` live here; the project commands
(sample, collect, export, validate, migrate) in ``cli_project``. Each command parses its
arguments, calls the library and lets ``reports_errors`` map errors to exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import cli_fleet, cli_policy, cli_project, docio, keys
from .cli_base import (
    OutputOption,
    app,
    dash_refused,
    emit,
    key_app,
    output_fits,
    reports_errors,
    warn,
)
from .errors import INTERRUPTED

if TYPE_CHECKING:  # the engine is imported by apply when it runs, not by every command
    from .applier import Report
    from .pipeline import RunResult
    from .policy import Policy


@app.command("apply")
@reports_errors
def apply_command(
    input: Annotated[str, typer.Argument(metavar="INPUT",
                                         help="JSON or YAML document (.gz ok), or - for stdin.")],
    policy: Annotated[Path, typer.Option("--policy", "-p", help="The policy file.")],
    output: OutputOption = None,
    report: Annotated[Path | None, typer.Option(
        "--report", callback=dash_refused,
        help="Write the run's report (JSON, paths only) here.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show per rule what would happen (counts, paths); write nothing.")
    ] = False,
    hash_key_file: Annotated[Path | None, typer.Option(
        "--hash-key-file", help="Read the hash key from this file (mode 0600).")] = None,
    compact: Annotated[bool, typer.Option("--compact", help="Write JSON on one line.")] = False,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="INPUT is JSON lines: apply to each line, in constant memory.")
    ] = False,
) -> None:
    """Apply a policy to a document: transform, check against the schema, write."""
    from .pipeline import run
    from .policy import load_policy
    from .provenance import Stamp

    output_fits(output, "json")
    output_fits(report, "json")
    loaded = load_policy(policy)
    key = keys.resolve(loaded.hash.key, loaded.base_dir, hash_key_file,
                       where=loaded.where.get("hash.key"))
    if jsonl:
        _apply_lines(loaded, input, output, report, dry_run, key)
        return
    document = docio.read_document(input)
    stamp = Stamp(loaded, document, key) if loaded.stamp else None
    # The document was parsed for this run: the engine may work on it in place, except
    # when a stamp must still read its project and collection sections afterwards.
    result = run(loaded, document, key=key, stamp=stamp, copy=stamp is not None, warn=warn)
    if dry_run:
        typer.echo(render_dry_run(loaded, result))
        return
    data = docio.encode_json(result.document, pretty=not compact)
    emit(data, output, settle=None if report is None else lambda: _write_report(report, result))


def _apply_lines(policy: Policy, source: str, output: Path | None, report: Path | None,
                 dry_run: bool, key: keys.HashKey | None) -> None:
    from .jsonl import apply_lines
    from .pipeline import RunResult

    def settle(total: Report) -> None:  # before the output is let out: all or nothing
        if report is not None and not dry_run:
            _write_report(report, RunResult(None, total, set(), key))

    total = apply_lines(policy, source, output, key, write=not dry_run, settle=settle,
                        warn=warn)
    if dry_run:
        typer.echo(render_dry_run(policy, RunResult(None, total, set(), key)))


def _write_report(path: Path, result: RunResult) -> None:
    docio.write_atomic(path, docio.encode_json(report_dict(result), pretty=True))


def report_dict(result: RunResult) -> dict[str, Any]:
    out = result.report.to_dict()
    out["hash_key_id"] = result.key.id if result.key else None
    out["allowances"] = [use.to_dict() for use in result.allowances]
    return out


def render_dry_run(policy: Policy, result: RunResult) -> str:
    """Per rule what it would do: counts and folded paths, never values."""
    lines = [f"dry run of policy {policy.id} {policy.version} ({policy.source}); "
             "nothing written"]
    for rule in result.report.rules:
        what = f"{rule.matched} matched"
        if rule.changed:
            what += f", {rule.changed} changed"
        if rule.dropped:
            what += f", {rule.dropped} dropped"
        lines.append(f"  {rule.id}: {rule.action} {rule.select!r}: {what}")
        for path, count in sorted(rule.paths.items()):
            lines.append(f"      {path}  ({count})")
    lines.append(uncovered_summary(result.report))
    return "\n".join(lines)


def uncovered_summary(report: Report) -> str:
    if not report.uncovered:
        return "  uncovered: none"
    verb = {"drop": "dropped", "keep": "kept", "error": "refused"}[report.unmatched]
    head = f"  uncovered ({verb}, unmatched: {report.unmatched}):"
    rows = [f"      {p}  ({n})" for p, n in sorted(report.uncovered.items())]
    return "\n".join([head, *rows])


@key_app.command("new")
@reports_errors
def key_new(
    path: Annotated[Path, typer.Argument(help="Where to create the key file.",
                                         callback=dash_refused)],
) -> None:
    """Create a random hash key file (mode 0600); it is never overwritten."""
    created = keys.create_key_file(path)
    typer.echo(f"created {path} (key id {created.id}); keep it out of version control")


@key_app.command("id")
@reports_errors
def key_id_command(
    path: Annotated[Path, typer.Argument(help="A key file.")],
) -> None:
    """Show a key file's public id (the fingerprint exports carry)."""
    typer.echo(keys.read_key_file(path).id)


def main() -> None:
    assert cli_project and cli_policy and cli_fleet  # their commands register on the app
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write(f"learnexport: {INTERRUPTED}\n")
        sys.exit(130)
