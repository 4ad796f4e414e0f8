"""Project commands: ``sample``, ``collect``, ``export``, ``validate``, ``migrate``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import choices, cli_base, docio
from .cli_base import (
    ExportArgument,
    OutputOption,
    app,
    dash_refused,
    emit,
    progress_for,
    reports_errors,
)
from .errors import UsageError

# The libraries are imported by the commands that use them (a command starts with what it
# needs only); the choices come from one light module, so adding one is one edit.
Size = StrEnum("Size", {name: name for name in choices.SAMPLE_SIZES})  # type: ignore[misc]


class Format(StrEnum):
    json = "json"
    yaml = "yaml"


Section = StrEnum("Section", {name: name for name in choices.SECTIONS})  # type: ignore[misc]


@app.command("sample")
@reports_errors
def sample_command(
    folder: Annotated[Path, typer.Argument(help="Project folder to write .tapps-agents/ into.",
                                           callback=dash_refused)],
    size: Annotated[Size, typer.Option(help="small (tests), typical, or large (the "
                                            "design's limits).")] = Size.small,
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 0,
    corrupt: Annotated[bool, typer.Option(help="Also plant a truncated and a broken "
                                               "JSON line.")] = False,
) -> None:
    """Write a realistic sample project (real formats, planted sensitive values)."""
    from . import sample

    if (folder / ".tapps-agents").exists():
        raise UsageError(f"{folder}/.tapps-agents already exists; not overwritten",
                         hint="choose an empty folder")
    try:
        info = sample.generate(folder, size.value, seed, corrupt=corrupt)
    except OSError as exc:  # a file where the folder should be, a read-only place, ...
        raise docio.output_error(folder, exc) from None
    counts = ", ".join(f"{k} {v}" for k, v in info.counts.items())
    typer.echo(f"wrote a {size.value} sample (seed {seed}) to {folder}: {counts}")


@app.command("collect")
@reports_errors
def collect_command(
    project: Annotated[Path, typer.Argument(help="Project folder (holding .tapps-agents/).")
                       ] = Path("."),
    output: OutputOption = None,
) -> None:
    """Read the project's learning data into one JSON document, raw (local use only)."""
    from .collector import collect

    cli_base.output_fits(output, "json")
    with progress_for("collecting") as tick:
        document = collect(project, progress=tick)
    for warning in document["collection"]["warnings"]:
        cli_base.warn(warning)
    data = docio.encode_json(document, pretty=True)
    emit(data, output, private=True)  # raw data: for the owner's eyes only


@app.command("export")
@reports_errors
def export_command(
    project: Annotated[Path, typer.Argument(help="Project folder (holding .tapps-agents/).")
                       ] = Path("."),
    policy: Annotated[Path | None, typer.Option(
        "--policy", "-p", help="Policy file; default: the shipped default policy.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", callback=dash_refused,
        help="Default: .tapps-agents/exports/learning-export-YYYYMMDD.json"
    )] = None,
    fmt: Annotated[Format, typer.Option("--format", help="json or yaml.")] = Format.json,
    compress: Annotated[bool, typer.Option("--compress", help="gzip the file (.gz).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Consent without asking.")] = False,
    capability: Annotated[list[str] | None, typer.Option(
        "--capability", help="Only this capability (repeatable).")] = None,
    agent: Annotated[list[str] | None, typer.Option(
        "--agent", help="Only records of this agent (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Only records from this day on.")] = None,
    until: Annotated[str | None, typer.Option(help="Only records up to this day.")] = None,
    exclude: Annotated[list[Section] | None, typer.Option(
        "--exclude", help="Leave this section out (repeatable).")] = None,
    hash_key_file: Annotated[Path | None, typer.Option(
        "--hash-key-file", help="Hash key file; default: the project's own key.")] = None,
) -> None:
    """Export the project's learning data: anonymized, schema-checked, with consent."""
    from . import exporter
    from .provenance import Filters

    filters = Filters.checked(capability or (), agent or (), since, until,
                              [s.value for s in exclude or ()], prefix="--")
    cli_base.output_fits(output, fmt.value, f"--format {fmt.value} names what is written: "
                         "change it, or the file's name")
    if compress and output is not None and not docio.gzipped(output.name):
        raise UsageError(f"{output}: --compress writes gzip, and this name does not end in "
                         ".gz; nothing was written", hint=f"name it {output.name}.gz (a name "
                         "ending in .gz is compressed without --compress)")
    cli_base.need_consent(yes, "export")
    with progress_for("exporting") as tick:
        prepared = exporter.prepare(project, policy=policy, output=output, fmt=fmt.value,
                                  compress=compress, filters=filters,
                                  hash_key_file=hash_key_file, progress=tick,
                                  warn=cli_base.warn)
    warnings = list(prepared.result.document.get("export_metadata", {}).get("warnings", []))
    if (unfit := exporter.format_warning(prepared.policy)) is not None:
        warnings.append(unfit)
    for warning in warnings:
        cli_base.warn(warning)
    if not yes:
        cli_base.confirm("This export will be written:", prepared.summary())
    written = exporter.write(prepared)
    typer.echo(f"wrote {written} ({written.stat().st_size} bytes)")


@app.command("validate")
@reports_errors
def validate_command(
    file: ExportArgument,
) -> None:
    """Check an export against the schema version it declares (exit 3 if it fails)."""
    from . import versions

    document = docio.read_document(file)
    version = versions.validate(document, docio.shown(file))
    typer.echo(f"{docio.shown(file)}: valid learning export, schema {version}")


@app.command("migrate")
@reports_errors
def migrate_command(
    file: ExportArgument,
    to: Annotated[str, typer.Option("--to", help=f"Target schema version "
                                                 f"({', '.join(choices.VERSIONS)}).")],
    output: OutputOption = None,
) -> None:
    """Migrate an export to a newer schema version (checked before and after)."""
    from . import versions

    cli_base.output_fits(output, "json")

    document = docio.read_document(file)
    migrated = versions.migrate(document, to, docio.shown(file))
    data = docio.encode_json(migrated, pretty=True)
    emit(data, output)
