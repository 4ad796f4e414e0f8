"""The HTML dashboard's page: one inline template with its stylesheet.

Nothing is loaded from anywhere: system fonts, inline CSS, inline SVG, no scripts; the
Content-Security-Policy forbids every fetch, so even a mistake could not reach a network.
"""

from __future__ import annotations

from string import Template

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'")

STYLE = """
:root {
  --bg: #f4f6fb; --card: #ffffff; --ink: #1d2433; --muted: #667085; --line: #e4e7ef;
  --quality: #5b5bd6; --success: #12a37a; --runs: #3b82c4; --bad: #e5484d; --warn: #d9822b;
  --none: #c3c8d4; --shadow: 0 1px 2px rgba(16,24,40,.06), 0 1px 3px rgba(16,24,40,.08);
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f131a; --card: #171c25; --ink: #e6e9f0; --muted: #98a2b3; --line: #2a3140;
          --none: #4a5365; --shadow: none; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 32px 40px; }
header.top { display: flex; justify-content: space-between; align-items: flex-end; gap: 16px;
  margin-bottom: 20px; }
h1 { font-size: 26px; margin: 0; letter-spacing: -.01em; }
h2 { font-size: 15px; margin: 0 0 12px; }
h3 { font-size: 13px; margin: 14px 0 6px; color: var(--muted); font-weight: 600; }
.sub { color: var(--muted); margin: 4px 0 0; }
.badge { font-size: 12px; color: var(--muted); border: 1px solid var(--line);
  border-radius: 999px; padding: 4px 10px; white-space: nowrap; background: var(--card); }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  margin-bottom: 16px; }
.kpi { background: var(--card); border-radius: 12px; padding: 12px 14px;
  box-shadow: var(--shadow); }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.kpi .value { font-size: 26px; font-weight: 650; margin-top: 2px; }
.kpi .note { color: var(--muted); font-size: 12px; }
.scroll { overflow-x: auto; }
.card { background: var(--card); border-radius: 12px; padding: 18px 20px; margin-bottom: 16px;
  box-shadow: var(--shadow); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.grid2 > .card { margin-bottom: 0; }
.grid2.flat { gap: 28px; margin-bottom: 0; }
.grid2.flat h3 { margin-top: 0; }
.grid2 + .card, .grid2 { margin-bottom: 16px; }
.grid3 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 28px; }
@media (max-width: 900px) { .grid2, .grid3 { grid-template-columns: 1fr; } }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: 12px; margin: -4px 0 6px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px;
  border-radius: 3px; margin-right: 6px; vertical-align: -1px; background: currentColor; }
.legend .s-quality { color: var(--quality); } .legend .s-success { color: var(--success); }
.legend .s-runs { color: var(--runs); } .legend .bad { color: var(--bad); }
.legend span { color: inherit; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 11px; }
svg .line { fill: none; stroke-width: 2.2; stroke-linejoin: round; stroke-linecap: round; }
svg .area { stroke: none; opacity: .10; }
svg .dot { stroke: var(--card); stroke-width: 1.5; }
.s-quality.line { stroke: var(--quality); }
.s-quality.area, .s-quality.dot { fill: var(--quality); }
.s-success.line { stroke: var(--success); }
.s-success.area, .s-success.dot { fill: var(--success); }
.s-runs.line { stroke: var(--runs); } .s-runs.area, .s-runs.dot { fill: var(--runs); }
svg .bar.good { fill: var(--runs); } svg .bar.bad { fill: var(--bad); opacity: .85; }
svg .ring { fill: none; stroke: var(--line); }
svg .slice { fill: none; } svg .slice.secure { stroke: var(--success); }
svg .slice.insecure { stroke: var(--bad); } svg .slice.unscored { stroke: var(--none); }
svg .donut-total { fill: var(--ink); font-size: 26px; font-weight: 650; }
svg.spark polyline { fill: none; stroke: var(--quality); stroke-width: 1.6; }
svg.spark circle { fill: var(--quality); }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600;
  border-bottom: 1px solid var(--line); padding: 6px 7px; white-space: nowrap; }
td { padding: 6px 7px; border-bottom: 1px solid var(--line); vertical-align: middle; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.m { white-space: nowrap; }
td.name { font-weight: 550; max-width: 230px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.meter { display: inline-block; width: 48px; height: 7px; border-radius: 4px;
  background: var(--line); vertical-align: middle; margin-right: 8px; overflow: hidden; }
.meter > span { display: block; height: 100%; border-radius: 4px; }
.meter.quality > span { background: var(--quality); } .good > span { background: var(--success); }
.fair > span { background: var(--warn); } .poor > span { background: var(--bad); }
.hbar { display: grid; grid-template-columns: minmax(110px, 38%) 1fr auto; gap: 10px;
  align-items: center; margin: 7px 0; }
.hbar .track { height: 10px; background: var(--line); border-radius: 5px; overflow: hidden; }
.hbar .fill { height: 100%; border-radius: 5px; background: var(--bad); }
.hbar .fill.ok { background: var(--success); } .hbar .fill.mid { background: var(--warn); }
.hbar .count { color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.hbar small { display: block; color: var(--muted); font-size: 11px; }
.security { display: flex; gap: 24px; align-items: center; }
.security ul { list-style: none; padding: 0; margin: 0; }
.security li { margin: 4px 0; } .dotmark { display: inline-block; width: 10px; height: 10px;
  border-radius: 50%; margin-right: 8px; vertical-align: -1px; }
.dotmark.secure { background: var(--success); } .dotmark.insecure { background: var(--bad); }
.dotmark.unscored { background: var(--none); }
.muted { color: var(--muted); } .empty { color: var(--muted); font-style: italic; }
.warnings { border-left: 4px solid var(--warn); }
footer { color: var(--muted); font-size: 12px; margin-top: 8px; }
"""

PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="generator" content="learnexport $version">
<title>$title</title>
<style>$style</style>
</head>
<body>
<main>
$body
</main>
</body>
</html>
""")
