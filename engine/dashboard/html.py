"""The dashboard as one self-contained HTML page with inline SVG charts.

Every value from the data is escaped; the page loads nothing (template.py). It shows the
user's raw capability names: it is a local view, and says so on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .. import __version__
from . import svg
from .figures import Dashboard, Performer
from .template import CSP, PAGE, STYLE


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _grade(value: float | None) -> str:
    return "" if value is None else "good" if value >= 0.8 else "fair" if value >= 0.6 \
        else "poor"


def _meter(value: float | None, kind: str = "") -> str:
    """A small bar for a 0-1 value, then the value."""
    if value is None:
        return "–"
    width = min(max(value, 0.0), 1.0) * 100
    css = kind or _grade(value)
    shown = _num(value) if kind == "quality" else _pct(value)
    return (f'<span class="meter {css}"><span style="width:{width:.0f}%"></span></span>'
            f"{shown}")


def _kpi(label: str, value: str, note: str) -> str:
    return (f'<div class="kpi"><div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(value)}</div><div class="note">{escape(note)}</div></div>')


def header(d: Dashboard) -> str:
    period = f"{d.period.first} → {d.period.last}" if d.period else "no dated records"
    filters = ""
    if d.filters.get("capabilities") or d.filters.get("since"):
        filters = (f" · only {', '.join(d.filters['capabilities']) or 'all capabilities'}"
                   f" since {d.filters.get('since') or 'the start'}")
    return (f'<header class="top"><div><h1>Learning dashboard</h1><p class="sub">'
            f"{escape(d.project.name)} · framework {escape(d.project.framework_version or '?')}"
            f" · {escape(period)}{escape(filters)}</p></div>"
            '<div class="badge">local view of your own data · nothing is shared</div></header>')


def kpis(d: Dashboard) -> str:
    cap, pat = d.capabilities.summary, d.patterns.summary
    tasks = sum(x.tasks for x in d.trends)
    runs = sum(x.runs for x in d.trends)
    task_ok = sum(round(x.tasks * (x.task_success_rate or 0)) for x in d.trends)
    run_ok = sum(round(x.runs * (x.run_success_rate or 0)) for x in d.trends)
    cards = [
        _kpi("Capabilities", f"{cap.capabilities}", f"{cap.total_usage:,} uses"),
        _kpi("Success", _pct(cap.success_rate), "usage-weighted"),
        _kpi("Quality", _num(cap.quality_score), "usage-weighted"),
        _kpi("Patterns", f"{pat.patterns:,}", f"{_pct(pat.anti_pattern_rate)} anti-patterns"),
        _kpi("Tasks", f"{tasks:,}", f"{_pct(task_ok / tasks if tasks else None)} succeeded"),
        _kpi("Runs", f"{runs:,}", f"{_pct(run_ok / runs if runs else None)} succeeded"),
        _kpi("Insecure", f"{d.security.insecure}",
             f"of {d.security.secure + d.security.insecure + d.security.unscored:,} patterns"),
    ]
    return f'<section class="kpis">{"".join(cards)}</section>'


def trends(d: Dashboard) -> str:
    if not d.trends:
        return '<section class="card"><h2>Learning trends</h2><p class="empty">No dated ' \
               "tasks or runs.</p></section>"
    dates = [x.date for x in d.trends]
    series = [
        svg.Series("task quality", "s-quality", tuple(x.mean_quality for x in d.trends),
                   lambda v: f"{v:.2f}"),
        svg.Series("task success", "s-success", tuple(x.task_success_rate for x in d.trends),
                   _pct),
        svg.Series("run success", "s-runs", tuple(x.run_success_rate for x in d.trends), _pct),
    ]
    legend = "".join(f'<span class="{s.css}">{escape(s.label)}</span>' for s in series)
    good = [round(x.runs * (x.run_success_rate or 0)) for x in d.trends]
    bad = [x.runs - g for x, g in zip(d.trends, good, strict=True)]
    return (
        '<section class="card"><h2>Learning trends</h2><div class="grid2 flat"><div>'
        f'<h3>Quality and success per day</h3><div class="legend">{legend}</div>'
        f"{svg.line_chart('Quality and success per day', dates, series)}</div><div>"
        '<h3>Agent runs per day</h3><div class="legend"><span class="s-runs">succeeded</span>'
        '<span class="bad">failed</span></div>'
        f"{svg.stacked_bars('Agent runs per day', dates, good, bad, ('succeeded', 'failed'))}"
        "</div></div></section>")


def capabilities(d: Dashboard) -> str:
    rows = []
    for c in d.capabilities.rows:
        improvement = "–" if c.mean_improvement is None else f"+{c.mean_improvement:.1f}%"
        rows.append(
            f'<tr><td class="name" title="{escape(c.capability_id)}">'
            f"{escape(c.capability_id)}</td><td>{escape(c.agent_id or '–')}</td>"
            f'<td class="num">{c.usage_count:,}</td><td class="m">{_meter(c.success_rate)}</td>'
            f'<td class="m">{_meter(c.quality_score, "quality")}</td>'
            f'<td class="num">{_num(c.average_duration, 1)} s</td>'
            f'<td class="num">{c.refinements}</td><td class="num">{improvement}</td>'
            f"<td>{svg.sparkline(c.success_history, width=72)}</td></tr>")
    body = "".join(rows) or '<tr><td colspan="9" class="empty">No capabilities.</td></tr>'
    return ('<section class="card"><h2>Capabilities</h2><div class="scroll"><table><thead><tr>'
            '<th>Capability</th>'
            '<th>Agent</th><th class="num">Uses</th><th>Success</th><th>Quality</th>'
            '<th class="num">Avg duration</th><th class="num">Refinements</th>'
            '<th class="num">Mean gain</th><th>Success trend</th></tr></thead>'
            f"<tbody>{body}</tbody></table></div></section>")


def _hbar(label: str, value: float, top: float, count: str, css: str = "",
          note: str = "") -> str:
    width = 0 if not top else max(2.0, value / top * 100)
    small = f"<small>{escape(note)}</small>" if note else ""
    return (f'<div class="hbar"><span>{escape(label)}{small}</span><div class="track">'
            f'<div class="fill {css}" style="width:{width:.0f}%"></div></div>'
            f'<span class="count">{escape(count)}</span></div>')


def patterns(d: Dashboard) -> str:
    s = d.patterns.summary
    rows = "".join(
        f"<tr><td>{escape(t.pattern_type)}</td><td class='num'>{t.patterns:,}</td>"
        f"<td class='num'>{t.anti_patterns:,}</td><td class='m'>"
        f"{_meter(t.mean_quality, 'quality')}</td><td class='m'>{_meter(t.mean_success_rate)}</td>"
        f"<td class='num'>"
        f"{_num(t.mean_security_score, 1)}</td></tr>" for t in d.patterns.by_type)
    return ('<section class="card"><h2>Patterns</h2><table><thead><tr><th>Type</th>'
            '<th class="num">Patterns</th><th class="num">Anti</th><th>Quality</th>'
            '<th>Success</th><th class="num">Security</th></tr></thead>'
            f"<tbody>{rows}</tbody></table><p class='muted'>{s.patterns:,} patterns, "
            f"{s.anti_patterns:,} anti-patterns ({_pct(s.anti_pattern_rate)}), "
            f"{s.rejections:,} rejections</p></section>")


def security(d: Dashboard) -> str:
    s = d.security
    parts = [("secure", "secure", s.secure), ("insecure", "insecure", s.insecure),
             ("unscored", "unscored", s.unscored)]
    items = "".join(f'<li><span class="dotmark {css}"></span>{label} <b>{n:,}</b></li>'
                    for label, css, n in parts)
    most = max((t.patterns for t in s.vulnerabilities), default=0)
    tags = "".join(_hbar(t.tag, t.patterns, most, f"{t.patterns}") for t in s.vulnerabilities)
    return ('<section class="card"><h2>Security</h2><div class="security">'
            f"{svg.donut('Secure and insecure patterns', parts)}<div><ul>{items}</ul>"
            f'<p class="muted">mean score {_num(s.mean_security_score, 1)}/10 · secure: '
            f"scored ≥ {s.secure_min_score:g}, no anti-pattern, no vulnerability tag</p></div>"
            "</div><h3>Vulnerability tags</h3>"
            f"{tags or '<p class=empty>No vulnerability tags.</p>'}</section>")


def _performers(title: str, rows: Sequence[Performer]) -> str:
    bars = "".join(_hbar(p.name, p.success_rate or 0.0, 1.0,
                         f"{_pct(p.success_rate)} of {p.runs}",
                         {"good": "ok", "fair": "mid"}.get(_grade(p.success_rate), ""))
                   for p in rows)
    return f"<div><h3>{escape(title)}</h3>{bars or '<p class=empty>Not enough runs.</p>'}</div>"


def failures(d: Dashboard) -> str:
    f = d.failures
    most = max((o.tasks for o in f.outcomes), default=0)
    outcomes = "".join(_hbar(o.outcome, o.tasks, most, f"{o.tasks} · {_pct(o.share)}",
                             note=f"mostly {o.top_agent} ({o.top_agent_tasks})")
                       for o in f.outcomes)
    return (f'<section class="card"><h2>Failure analysis</h2><p class="muted">{f.failed_tasks}'
            f" of {f.tasks} tasks did not succeed; agents and workflows with at least "
            f'{f.min_runs} runs, lowest success first.</p><div class="grid3">'
            f"<div><h3>Task outcomes other than success</h3>"
            f"{outcomes or '<p class=empty>Every task succeeded.</p>'}</div>"
            f"{_performers('Agents with the lowest success', f.lowest_agents)}"
            f"{_performers('Workflows with the lowest success', f.lowest_workflows)}"
            "</div></section>")


def notes(d: Dashboard) -> str:
    if not d.warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in d.warnings)
    return f'<section class="card warnings"><h2>Collector warnings</h2><ul>{items}</ul></section>'


def render(d: Dashboard) -> str:
    body = "\n".join([
        header(d), kpis(d), notes(d), trends(d), capabilities(d),
        f'<div class="grid2">{patterns(d)}{security(d)}</div>', failures(d),
        f"<footer>Generated {escape(d.generated_at)} by learnexport {escape(__version__)} from "
        f"the raw learning data in this project. This page stays on your machine; to share "
        f"figures, use <code>learnexport export</code>.</footer>"])
    return PAGE.substitute(csp=CSP, version=escape(__version__),
                           title=escape(f"Learning dashboard · {d.project.name}"),
                           style=STYLE, body=body)
