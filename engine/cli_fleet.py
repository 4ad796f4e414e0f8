"""Maintainer and sharing commands: ``dashboard``, ``submit``, ``verify``, ``aggregate``."""

from __future__ import annotations

import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import choices, docio
from .cli_base import (
    ExportArgument,
    OutputOption,
    app,
    confirm,
    dash_refused,
    emit,
    need_consent,
    output_fits,
    progress_for,
    reports_errors,
    warn,
)

# The dashboard, submission and fleet libraries are imported by their commands: every
# other command (export and apply above all) starts without them.


class ViewFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


@app.command("dashboard")
@reports_errors
def dashboard_command(
    project: Annotated[Path, typer.Argument(help="Project folder (holding .tapps-agents/).")
                       ] = Path("."),
    fmt: Annotated[ViewFormat, typer.Option("--format", help="text (tables), json, or html "
                                            "(one self-contained page).")] = ViewFormat.text,
    capability: Annotated[list[str] | None, typer.Option(
        "--capability", help="Only this capability (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Only records from this day on.")] = None,
    output: OutputOption = None,
) -> None:
    """Show your own learning data: capabilities, patterns, security, trends, failures."""
    output_fits(output, fmt.value, "--format names what is written (text, json or html): "
                "change it, or the file's name")
    from . import dashboard as dashboard_model
    from .collector import collect
    from .provenance import day

    with progress_for("reading") as tick:  # the streams are read while the figures fold
        document = collect(project, progress=tick, lazy=True)
        view = dashboard_model.build(document, capabilities_only=tuple(capability or ()),
                                     since=day(since, "--since"))
    if fmt is ViewFormat.json:
        data = docio.encode_json(dashboard_model.to_dict(view), pretty=True)
    elif fmt is ViewFormat.html:
        from .dashboard import html

        data = html.render(view).encode("utf-8")
    else:
        from .dashboard import text

        color = output is None and sys.stdout.isatty()
        width = min(text.WIDTH, shutil.get_terminal_size((text.WIDTH, 24)).columns) \
            if color else text.WIDTH
        data = text.render(view, width=width, color=color).encode("utf-8")
    emit(data, output, private=True)  # the project's own names: for the owner's eyes only
    if output is not None:
        typer.echo(f"wrote {output} ({output.stat().st_size} bytes)", err=True)  # as on disk


@app.command("submit")
@reports_errors
def submit_command(
    export: ExportArgument,
    out: Annotated[Path | None, typer.Option(
        "--out", callback=dash_refused,
        help="Folder for the package; default: the export's folder.")] = None,
    note: Annotated[str | None, typer.Option(
        "--note", help="A short note for the maintainers (checked for leaks too).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Consent without asking.")] = False,
) -> None:
    """Check an export again and pack it with a manifest for manual upload (no network)."""
    from . import submission

    need_consent(yes, "write a submission package")
    checked = submission.check_export(export)
    note = submission.check_note(note)
    target = submission.target_path(checked, out)
    if not yes:
        confirm("This submission package will be written:",
                submission.summary(checked, note, target),
                "Nothing is sent anywhere: you upload the package yourself.")
    written = submission.write(checked, note, target)
    typer.echo(f"wrote {written} ({written.stat().st_size} bytes); check it with: "
               f"learnexport verify {written}")


@app.command("verify")
@reports_errors
def verify_command(
    packages: Annotated[list[Path], typer.Argument(
        metavar="PACKAGE...", help="Submission packages (.tar.gz).")],
) -> None:
    """Check submission packages in turn: manifest, file hashes, schema, leak check."""
    from . import submission

    for package in packages:
        opened, version = submission.verify(package)
        manifest = opened.manifest
        policy = manifest.get("policy") or {}
        typer.echo(f"{package}: valid submission package {manifest['package_id']}: "
                   f"{', '.join(sorted(manifest['files']))} match the manifest; export "
                   f"schema {version}, policy {policy.get('id')} {policy.get('version')}, "
                   "leak check passed")


@app.command("aggregate")
@reports_errors
def aggregate_command(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="EXPORT_OR_PACKAGE...", help="Exports, submission packages, or folders of them.")],
    output: OutputOption = None,
    min_projects: Annotated[int, typer.Option(
        "--min-projects", help="Suppress every figure with fewer contributing projects.")
    ] = choices.DEFAULT_MIN_PROJECTS,
    engine: Annotated[Engine, typer.Option(help="local (all cores) or dask (a Dask cluster; "
                                                "needs learnexport[dask]).")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://host:8786); default: a local cluster.")] = None,
) -> None:
    """Combine many projects' exports into framework-wide figures (maintainers' tool)."""
    from . import fleet

    output_fits(output, "json")

    result = fleet.aggregate(inputs, min_projects=min_projects, engine=engine.value,
                             scheduler=scheduler)
    emit(docio.encode_json(result, pretty=True), output)
    meta = result["aggregate"]
    hidden = sum(meta["suppressed"].values())
    if meta["projects"] < meta["min_projects"]:
        warn(f"{meta['projects']} project(s), fewer than --min-projects "
                      f"{meta['min_projects']}: every figure is suppressed")
    typer.echo(f"aggregated {meta['inputs']} input(s): {meta['projects']} project(s), "
               f"{meta['duplicates']} other export(s) of the same projects left out, "
               f"{meta['migrated']} migrated to schema {meta['schema_version']}; {hidden} "
               f"group(s) under {meta['min_projects']} projects suppressed"
               + (f"; wrote {output}" if output else ""), err=True)
