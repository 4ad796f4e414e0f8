"""Rendering what the policy tools found: text for a terminal, Markdown for a pull
request, JSON for programs. Paths and rule ids only, never a value of the sample."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .classify import NEUTRAL, STRENGTHENS, WEAKENS
from .difftool import PolicyDiff
from .explain import KIND_LABELS, Explanation

HEADINGS = {WEAKENS: "Weakens privacy", STRENGTHENS: "Strengthens privacy",
            NEUTRAL: "Neutral"}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """Columns aligned with two spaces; the last one is not padded."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)]
        lines.append((indent + "  ".join([*cells, str(row[-1])])).rstrip())
    return "\n".join(lines)


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_cell(str(c)) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


# --- explain ---------------------------------------------------------------------------

def _explain_head(e: Explanation) -> str:
    p = e.policy
    return f"policy {p.id} {p.version} ({p.source}) on {e.sample}; unmatched: {p.unmatched}"


def _kinds(e: Explanation) -> str:
    counts: Counter[str] = Counter()
    for f in e.fields:
        for treatment, _ in f.treatments:
            counts[treatment.kind] += 1
    order = list(KIND_LABELS)
    return ", ".join(f"{KIND_LABELS[kind]} {n}"
                     for kind, n in sorted(counts.items(), key=lambda i: order.index(i[0])))


def _made(e: Explanation) -> list[tuple[str, str]]:
    """Per aggregate that writes into the export: where, its columns, its groups."""
    by_rule: dict[str, list[str]] = {}
    for path, origin in e.outputs:
        if origin != "input":
            by_rule.setdefault(origin.removeprefix("rule "), []).append(path)
    groups = {rule: (into, n, hidden) for rule, into, n, hidden in e.groups}
    out = []
    for rule, paths in by_rule.items():
        into, n, hidden = groups.get(rule, (e.policy.rule(rule).options["into"], 0, 0))
        rows = "[*]" if all(p.startswith(into + "[*]") for p in paths) else ""
        columns = [p[len(into + rows):].lstrip(".") for p in paths]
        count = f"{n} group{'s' * (n != 1)}" + (f", {hidden} suppressed" if hidden else "")
        out.append((rule, f"{into}{rows}: {', '.join(columns)} ({count})"))
    return out


def _fails(e: Explanation) -> list[str]:
    out = []
    if e.fails:
        out.append("the run fails on this sample (unmatched: error): uncovered "
                   f"{', '.join(e.uncovered)}")
    elif e.checks:
        out.append(f"an export with this policy fails on this sample: {e.checks}")
    return out


def explain_text(e: Explanation) -> str:
    rows = [(f.path, ", ".join(f.rules) or "-", f.text()) for f in e.fields]
    out = [_explain_head(e), f"fields by treatment: {_kinds(e)}", *_fails(e), "",
           table(("FIELD", "RULES", "TREATMENT"), rows)]
    made = _made(e)
    if made:
        out += ["", "made by rules (not input fields):"]
        out += [f"  {rule}: {paths}" for rule, paths in made]
    return "\n".join(out)


def explain_markdown(e: Explanation) -> str:
    p = e.policy
    rows = [(f"`{f.path}`", ", ".join(f"`{r}`" for r in f.rules) or "–", f.text())
            for f in e.fields]
    out = [f"### Policy `{p.id}` {p.version}: what it does to each field", "",
           f"On {e.sample}; `unmatched: {p.unmatched}`. Fields by treatment: {_kinds(e)}.",
           *(f"**{line[:1].upper()}{line[1:]}.**" for line in _fails(e)),
           "", md_table(("field", "rules, in order", "treatment"), rows)]
    made = _made(e)
    if made:
        out += ["", "Made by rules (not input fields):", ""]
        out += [f"- `{rule}`: {paths}" for rule, paths in made]
    return "\n".join(out)


def explain_json(e: Explanation) -> str:
    p = e.policy
    return to_json({
        "policy": {"id": p.id, "version": p.version, "source": p.source, "sha256": p.sha256,
                   "unmatched": p.unmatched},
        "sample": e.sample,
        "uncovered": list(e.uncovered), "fails": e.fails, "export_checks": e.checks,
        "fields": [{"path": f.path, "locations": f.count, "rules": list(f.rules),
                    "treatment": f.text(),
                    "treatments": [{"kind": t.kind, "rule": t.rule, "into": list(t.into),
                                    "text": t.text(), "locations": n}
                                   for t, n in f.treatments]} for f in e.fields],
        "rules": [{"id": r.id, "action": r.action, "matched": n,
                   "location": str(r.location) if r.location else None}
                  for r, n in zip(p.rules, e.matched, strict=True)],
        "outputs": [{"path": path, "origin": origin} for path, origin in e.outputs],
        "groups": [{"rule": rule, "into": into, "groups": n, "suppressed": hidden}
                   for rule, into, n, hidden in e.groups],
    })


# --- diff ------------------------------------------------------------------------------

def _verdict(d: PolicyDiff) -> str:
    counts = (f"{d.count(WEAKENS)} weakening, {d.count(STRENGTHENS)} strengthening, "
              f"{d.count(NEUTRAL)} neutral")
    if d.weakens:
        return f"WEAKENS PRIVACY ({counts})"
    if not d.changes:
        return "no change"
    return f"no weakening ({counts})"


def _checks(d: PolicyDiff) -> list[str]:
    """Say so when an export with either policy fails its checks on the sample."""
    out = []
    for side, policy, why in (("OLD", d.old, d.checks[0]), ("NEW", d.new, d.checks[1])):
        if why:
            out.append(f"an export with {side} ({policy.source}) fails on the sample: {why}")
    return out


def diff_text(d: PolicyDiff) -> str:
    out = [f"policy diff: {d.old.id} {d.old.version} ({d.old.source}) → "
           f"{d.new.id} {d.new.version} ({d.new.source})",
           f"fields compared on {d.sample}", f"verdict: {_verdict(d)}", *_checks(d)]
    if d.changes:
        rows = [(c.effect, f"{c.scope} {c.subject}", c.what) for c in d.changes]
        out += ["", table(("EFFECT", "WHAT", "CHANGE"), rows)]
    for c in (c for c in d.changes if c.fields):
        out += ["", f"{c.subject} ({c.what}):", *(f"  {name}" for name in c.fields)]
    return "\n".join(out)


def diff_markdown(d: PolicyDiff) -> str:
    old, new = d.old, d.new
    out = [f"## Policy diff: `{new.id}` {old.version} → {new.version}", "",
           f"**{_verdict(d)}**" if d.weakens else f"{_verdict(d)[:1].upper()}{_verdict(d)[1:]}.",
           "", f"`{old.source}` → `{new.source}`; field effects computed on {d.sample} "
           "with `learnexport policy diff`.", *(f"\n**Note:** {line}." for line in _checks(d))]
    for effect in (WEAKENS, STRENGTHENS, NEUTRAL):
        rows = [(c.scope, _md_subject(c.subject, c.fields), c.what,
                 f"`{c.where}`" if c.where else "") for c in d.changes if c.effect == effect]
        if rows:
            out += ["", f"### {HEADINGS[effect]} ({len(rows)})", "",
                    md_table(("scope", "subject", "change", "where"), rows)]
    out += _md_rules(d)
    return "\n".join(out)


def _rule_line(rule: Any) -> str:
    options = ", ".join(f"{k}: {v}" for k, v in rule.options.items())
    note = f" — {' '.join(rule.note.split())}" if rule.note else ""
    return f"`{rule.action}` `{rule.select}`" + (f" ({options})" if options else "") + note


def _md_rules(d: PolicyDiff) -> list[str]:
    """The rules the changes name, before and after, with their notes."""
    names = dict.fromkeys(c.subject for c in d.changes if c.scope == "rule")
    old = {r.id: r for r in d.old.rules}
    new = {r.id: r for r in d.new.rules}
    rows = []
    for name in names:
        before, after = old.get(name), new.get(name)
        rows.append((f"`{name}`", _rule_line(before) if before else "–",
                     _rule_line(after) if after else "–"))
    if not rows:
        return []
    return ["", "<details><summary>The rules named above, before and after</summary>", "",
            md_table(("rule", "before", "after"), rows), "", "</details>"]


def _md_subject(subject: str, fields: tuple[str, ...]) -> str:
    if not fields:
        return f"`{subject}`"
    listed = "<br>".join(f"`{f}`" for f in fields)
    return f"<details><summary>{subject}</summary>{listed}</details>"


def diff_json(d: PolicyDiff) -> str:
    def side(p: Any) -> dict[str, Any]:
        return {"id": p.id, "version": p.version, "source": p.source, "sha256": p.sha256}

    return to_json({
        "old": side(d.old), "new": side(d.new), "sample": d.sample,
        "checks": {"old": d.checks[0], "new": d.checks[1]},
        "verdict": WEAKENS if d.weakens else ("unchanged" if not d.changes else "ok"),
        "counts": {e: d.count(e) for e in (WEAKENS, STRENGTHENS, NEUTRAL)},
        "changes": [{"effect": c.effect, "scope": c.scope, "subject": c.subject,
                     "change": c.what, "where": c.where, "fields": list(c.fields)}
                    for c in d.changes],
    })
