"""The dashboard as text: rich tables with sparklines, fitting an 80-column terminal."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .figures import Dashboard, Performer

WIDTH = 80
BARS = "▁▂▃▄▅▆▇█"
TOP_CAPABILITIES = 12
SPARK = 10  # characters of a capability's sparkline
NAME_WIDTH = 26  # a longer name (a capability, an agent) is cut with an ellipsis


def sparkline(values: Sequence[float | None], width: int | None = None) -> str:
    """``values`` as block characters scaled to their own range (None: a blank), at most
    ``width`` characters (means of equal buckets when there are more values)."""
    if width and len(values) > width:
        buckets = [values[len(values) * i // width:len(values) * (i + 1) // width]
                   for i in range(width)]
        values = [_avg(b) for b in buckets]
    found = [v for v in values if v is not None]
    if not found:
        return ""
    low, span = min(found), max(found) - min(found)
    return "".join(" " if v is None else BARS[3 if span <= 0 else round((v - low) / span * 7)]
                   for v in values)


def _avg(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _rate(value: float | None) -> Text:
    """A rate, coloured by how good it is (colours show only on a terminal)."""
    style = "" if value is None else "green" if value >= 0.8 else "yellow" if value >= 0.6 \
        else "red"
    return Text(pct(value), style=style)


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
                  expand=False, caption_justify="left", caption_style="dim")
    for index, name in enumerate(columns):
        right = index > 0 and not name.startswith("~")
        title = name.lstrip("~")
        table.add_column(title, justify="right" if right else "left", overflow="ellipsis",
                         no_wrap=True, max_width=NAME_WIDTH if index == 0 else None,
                         min_width=None if index == 0 else len(title))
    return table


def _section(title: str, *body: RenderableType) -> Group:
    return Group(Text(title, style="bold"), *body)


def header(d: Dashboard) -> Panel:
    cap, pat = d.capabilities.summary, d.patterns.summary
    period = f"{d.period.first} → {d.period.last}" if d.period else "no dated records"
    tasks, runs = sum(x.tasks for x in d.trends), sum(x.runs for x in d.trends)
    lines = [
        Text.assemble(("Learning dashboard", "bold"), f" · {d.project.name} · framework "
                      f"{d.project.framework_version or 'unknown'}"),
        Text(f"{period} · {plural(tasks, 'task')} · {plural(runs, 'run')}"),
        Text(f"{plural(cap.capabilities, 'capability', 'capabilities')} · "
             f"{plural(cap.total_usage, 'use')} · success {pct(cap.success_rate)} · quality "
             f"{num(cap.quality_score)} (usage-weighted)"),
        Text(f"{plural(pat.patterns, 'pattern')} · {pct(pat.anti_pattern_rate)} anti-patterns"
             f" · {d.security.insecure} insecure"),
    ]
    if d.filters.get("capabilities") or d.filters.get("since"):
        lines.append(Text(f"filtered: capabilities {', '.join(d.filters['capabilities']) or 'all'}"
                          f", since {d.filters.get('since') or 'the start'}", style="italic"))
    return Panel(Group(*lines), box=box.ROUNDED, expand=False)


def capabilities(d: Dashboard) -> Group:
    table = _table("Capability", "Uses", "Success", "Quality", "Avg s", "Refined", "~Trend")
    for c in d.capabilities.rows[:TOP_CAPABILITIES]:
        table.add_row(c.capability_id, f"{c.usage_count:,}", _rate(c.success_rate),
                      num(c.quality_score), num(c.average_duration, 1), str(c.refinements),
                      sparkline(c.success_history, SPARK))
    more = len(d.capabilities.rows) - TOP_CAPABILITIES
    table.caption = "Trend: the success rate before the first refinement and after each"
    if more > 0:
        table.caption += f"\n… and {more} more (learnexport dashboard --format json lists all)"
    return _section("Capabilities (by usage)", table)


def patterns(d: Dashboard) -> Group:
    s = d.patterns.summary
    table = _table("Type", "Patterns", "Anti", "Quality", "Success", "Security")
    for t in d.patterns.by_type:
        table.add_row(t.pattern_type, str(t.patterns), str(t.anti_patterns),
                      num(t.mean_quality), _rate(t.mean_success_rate),
                      num(t.mean_security_score, 1))
    table.caption = (f"{s.patterns} patterns, {s.anti_patterns} anti-patterns "
                     f"({pct(s.anti_pattern_rate)}), {s.rejections} rejections")
    return _section("Patterns", table)


def security(d: Dashboard) -> Group:
    s = d.security
    total = s.secure + s.insecure + s.unscored
    head = Text.assemble(("secure ", ""), (str(s.secure), "green"),
                         " · insecure ", (str(s.insecure), "red"), f" · unscored {s.unscored}"
                         f" of {total} patterns · mean score {num(s.mean_security_score, 1)}/10")
    note = Text(f"secure: scored ≥ {s.secure_min_score:g}/10, no anti-pattern, no "
                "vulnerability tag", style="dim")
    bars = Table.grid(padding=(0, 1))
    most = max((t.patterns for t in s.vulnerabilities), default=0)
    for tag in s.vulnerabilities:
        bars.add_row(Text(tag.tag), Text("█" * max(1, round(tag.patterns / most * 30)),
                                         style="red"), str(tag.patterns))
    return _section("Security", head, note,
                    bars if s.vulnerabilities else Text("no vulnerability tags"))


def trends(d: Dashboard) -> Group:
    table = _table("Series", "~Sparkline", "Last", "Min", "Max")
    series = (("task quality", [x.mean_quality for x in d.trends], num),
              ("task success", [x.task_success_rate for x in d.trends], pct),
              ("runs", [float(x.runs) for x in d.trends], lambda v: num(v, 0)),
              ("run success", [x.run_success_rate for x in d.trends], pct))
    for label, values, show in series:
        found = [v for v in values if v is not None]
        table.add_row(label, sparkline(values, 30), show(found[-1] if found else None),
                      show(min(found, default=None)), show(max(found, default=None)))
    return _section("Trends per day", table)


def failures(d: Dashboard) -> Group:
    f = d.failures
    outcomes = _table("Outcome", "Tasks", "Share", "~Most affected agent")
    for o in f.outcomes:
        outcomes.add_row(o.outcome, str(o.tasks), pct(o.share),
                         f"{o.top_agent} ({o.top_agent_tasks})")
    lowest = Table.grid(padding=(0, 4))
    lowest.add_row(_performers("Agent", f.lowest_agents),
                   _performers("Workflow", f.lowest_workflows))
    return _section(f"Failure analysis: {f.failed_tasks} of {f.tasks} tasks did not succeed",
                    outcomes, Text(""), Text(f"Lowest success (at least {f.min_runs} runs)",
                                             style="bold"), lowest)


def _performers(kind: str, rows: Sequence[Performer]) -> Table:
    table = _table(kind, "Runs", "Success")
    for p in rows:
        table.add_row(p.name, str(p.runs), _rate(p.success_rate))
    return table


def render(dashboard: Dashboard, *, width: int = WIDTH, color: bool = False) -> str:
    """The whole dashboard as text, ``width`` columns wide (ANSI colours if ``color``)."""
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      emoji=False, legacy_windows=False)
    parts: list[RenderableType] = [header(dashboard), capabilities(dashboard),
                                   patterns(dashboard), security(dashboard), trends(dashboard),
                                   failures(dashboard)]
    if dashboard.warnings:
        parts.append(_section("Collector warnings", *(Text(f"- {w}", style="yellow")
                                                      for w in dashboard.warnings)))
    for index, part in enumerate(parts):
        if index:
            console.print()
        console.print(part)
    text = out.getvalue()
    return text if color else "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
