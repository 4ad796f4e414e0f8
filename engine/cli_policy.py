"""Policy tooling commands: ``policy test``, ``lint``, ``explain``, ``diff`` (see
docs/auditing.md and docs/cli-policy.md). Each parses its arguments, calls
``learnexport.policytools`` and prints; ``reports_errors`` maps errors to exit codes.

Exit codes: 0 ok; 1 a failing case, coverage below the minimum, a lint error (or, with
``--strict``, a warning), or a bad policy or input; 2 usage; 5 a weakening with
``policy diff --fail-on-weakening``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import docio
from .cli_base import app, dash_refused, reports_errors

# The policy tools are imported by their commands, so that the other commands start
# without them.

policy_app = typer.Typer(help="Test, lint, explain and diff policies (for authors and "
                              "auditors).", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

WEAKENING_EXIT = 5


class RunFormat(StrEnum):
    text = "text"
    json = "json"


class LintFormat(StrEnum):
    text = "text"
    github = "github"
    json = "json"


class ReportFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


SampleOption = Annotated[str | None, typer.Option(
    "--sample", metavar="DOC", help="Run on this JSON/YAML document, or a generated sample "
    "SIZE[:SEED] (default: a generated small sample, seed 0).")]
AllRecordsOption = Annotated[bool, typer.Option(
    "--all-records", help="Read every record of the sample (default: the first 1,000 of "
    "each list; the time grows with records times rules).")]


@policy_app.command("test")
@reports_errors
def test_command(
    paths: Annotated[list[Path] | None, typer.Argument(
        metavar="[PATH]...", help="Policy files or folders of them (default: ./policies).")
    ] = None,
    min_coverage: Annotated[float, typer.Option(
        "--min-coverage", metavar="PCT", min=0, max=100,
        help="Fail below this rule coverage, in percent.")] = 100.0,
    fmt: Annotated[RunFormat, typer.Option("--format", help="Output format.")
                   ] = RunFormat.text,
    junit_file: Annotated[Path | None, typer.Option(
        "--junit", metavar="FILE", callback=dash_refused,
        help="Also write JUnit XML here (for CI).")] = None,
    update: Annotated[bool, typer.Option(
        "--update", help="Write each folder case's current result as its expected.json "
        "(review the change before committing it).")] = False,
) -> None:
    """Run each policy's test cases (policies/tests/NAME/) and check rule coverage."""
    from .policytools import junit, testreport, testrun

    policies = testrun.find_policies(paths or [Path("policies")])
    results = [testrun.run_policy_tests(p, min_coverage, update) for p in policies]
    if junit_file is not None:
        docio.write_atomic(junit_file, junit.junit_xml(results))
    typer.echo(testreport.as_json(results) if fmt is RunFormat.json
               else testreport.text(results))
    if not all(r.passed for r in results):
        raise typer.Exit(1)


@policy_app.command("lint")
@reports_errors
def lint_command(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Policy files.")],
    sample: SampleOption = None,
    all_records: AllRecordsOption = False,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    fmt: Annotated[LintFormat, typer.Option(
        "--format", help="text (file:line:col: level: message (check)), github "
        "(workflow annotations) or json.")] = LintFormat.text,
) -> None:
    """Check policies for rules that match nothing or undo each other, and risky settings."""
    from .policytools import lint, samples

    chosen = samples.load(sample, all_records=all_records)
    results = [lint.lint_file(str(f), chosen.document, chosen.label) for f in files]
    shown = lint.render(results, fmt.value)
    if shown:
        typer.echo(shown)
    errors = sum(r.count("error") for r in results)
    warnings = sum(r.count("warning") for r in results)
    if fmt is LintFormat.text:
        typer.echo(f"{errors} error{'s' * (errors != 1)}, {warnings} warning"
                   f"{'s' * (warnings != 1)} in {len(results)} polic"
                   f"{'ies' if len(results) != 1 else 'y'} (on {chosen.label})", err=True)
    if errors or (strict and warnings):
        raise typer.Exit(1)


@policy_app.command("explain")
@reports_errors
def explain_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The policy file.")],
    sample: SampleOption = None,
    project: Annotated[Path | None, typer.Option(
        "--project", metavar="DIR", help="Run on this project's collected data.")] = None,
    all_records: AllRecordsOption = False,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format.")
                   ] = ReportFormat.text,
) -> None:
    """Show, per field of the sample, the rules that act on it and its final treatment."""
    from .policy import load_policy
    from .policytools import render, samples
    from .policytools.explain import explain

    chosen = samples.load(sample, project, all_records=all_records)
    explained = explain(load_policy(file), chosen.document, chosen.label)
    shown = {ReportFormat.text: render.explain_text, ReportFormat.markdown:
             render.explain_markdown, ReportFormat.json: render.explain_json}[fmt]
    typer.echo(shown(explained))


@policy_app.command("diff")
@reports_errors
def diff_command(
    old: Annotated[str, typer.Argument(metavar="OLD", help="A policy file, or REV:path "
                                                           "read from git.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="A policy file, or REV:path.")],
    sample: SampleOption = None,
    all_records: AllRecordsOption = False,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="text, markdown (for a pull "
                                                               "request comment) or json.")
                   ] = ReportFormat.text,
    fail_on_weakening: Annotated[bool, typer.Option(
        "--fail-on-weakening", help=f"Exit {WEAKENING_EXIT} when the change weakens "
        "privacy.")] = False,
) -> None:
    """Compare two policies rule by rule and field by field; weakenings first."""
    from .policytools import render, samples
    from .policytools.difftool import diff_policies
    from .policytools.gitsrc import load_spec

    chosen = samples.load(sample, all_records=all_records)
    result = diff_policies(load_spec(old), load_spec(new), chosen.document, chosen.label)
    shown = {ReportFormat.text: render.diff_text, ReportFormat.markdown:
             render.diff_markdown, ReportFormat.json: render.diff_json}[fmt]
    typer.echo(shown(result))
    if fail_on_weakening and result.weakens:
        raise typer.Exit(WEAKENING_EXIT)
