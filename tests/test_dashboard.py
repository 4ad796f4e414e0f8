"""``dashboard``: the user's own view of their learning data, as text, JSON and HTML.

Figures are checked against hand computations on generated samples; the text must fit 80
columns; the HTML must be one self-contained page, and it is opened in headless Chromium
and screenshotted (the test fails, with the install command, when Chromium is missing).
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from learnexport.collector import collect
from learnexport.dashboard import build, to_dict
from learnexport.dashboard import html as html_view
from learnexport.dashboard import text as text_view
from learnexport.dashboard.model import MIN_RUNS, SECURE_MIN_SCORE
from learnexport.errors import UsageError
from learnexport.sample import generate
from rich.cells import cell_len
from sharing_fixtures import (
    INSTALL_CHROMIUM,
    ROOT,
    check_example,
    console_examples,
    documented_shape,
    keys,
    run_cli,
)

DOCS = ROOT / "docs" / "dashboard.md"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("dash") / "project", "small", 301).root


@pytest.fixture(scope="module")
def collected(small: Path) -> dict[str, Any]:
    return collect(small)


@pytest.fixture
def doc(collected: dict[str, Any]) -> dict[str, Any]:
    """A copy of the collected document (build narrows it in place)."""
    return copy.deepcopy(collected)


def tiny(**parts: Any) -> dict[str, Any]:
    """A collected document with only the records given."""
    return {"project": {"root": "/x", "name": "tiny", "framework_version": None},
            "capabilities": {"metrics": parts.get("metrics", [])},
            "patterns": parts.get("patterns", []), "memory": parts.get("memory", []),
            "analytics": {"agents": parts.get("agents", []), "workflows": []},
            "learning": {"outcomes": [], "expert_performance": [], "weight_adjustments": []},
            "collection": {"sources": {}, "warnings": []}}  # fmt: skip


def test_capability_figures(doc: dict[str, Any]) -> None:
    metrics = copy.deepcopy(doc["capabilities"]["metrics"])
    view = build(doc).capabilities
    usage = sum(m["usage_count"] for m in metrics)
    assert (view.summary.capabilities, view.summary.total_usage) == (len(metrics), usage)
    assert view.summary.success_rate == round(
        sum(m["success_rate"] * m["usage_count"] for m in metrics) / usage, 4)
    assert view.summary.refinements == sum(len(m["refinement_history"]) for m in metrics)
    assert [r.usage_count for r in view.rows] == sorted((m["usage_count"] for m in metrics),
                                                        reverse=True)
    for row in view.rows:
        assert len(row.success_history) == (row.refinements + 1 if row.refinements else 0)


def test_pattern_and_security_figures(doc: dict[str, Any]) -> None:
    patterns = copy.deepcopy(doc["patterns"])
    view = build(doc)
    sec = view.security
    assert sec.secure + sec.insecure + sec.unscored == len(patterns)
    flagged = [p for p in patterns if p["is_anti_pattern"] or p["metadata"].get("vulnerabilities")
               or 0 < p["security_score"] < SECURE_MIN_SCORE]
    assert sec.insecure == len(flagged) > 0
    tags = Counter(t for p in patterns for t in set(p["metadata"].get("vulnerabilities", [])))
    assert {t.tag: t.patterns for t in sec.vulnerabilities} == dict(tags)
    assert view.patterns.summary.anti_patterns == sum(p["is_anti_pattern"] for p in patterns)
    assert sum(t.patterns for t in view.patterns.by_type) == len(patterns)


def test_a_pattern_never_scored_is_unscored_not_secure() -> None:
    patterns = [{"pattern_type": "function", "security_score": 0.0, "metadata": {}},
                {"pattern_type": "function", "security_score": 9.0, "metadata": {}},
                {"pattern_type": "class", "security_score": 9.0, "is_anti_pattern": True},
                {"pattern_type": "class", "security_score": 3.0, "metadata": {}}]
    sec = build(tiny(patterns=patterns)).security
    assert (sec.secure, sec.insecure, sec.unscored) == (1, 2, 1)
    assert sec.mean_security_score == 7.0


def test_trends_are_per_day(doc: dict[str, Any]) -> None:
    memory, agents = copy.deepcopy(doc["memory"]), copy.deepcopy(doc["analytics"]["agents"])
    days = build(doc).trends
    assert [d.date for d in days] == sorted({r["timestamp"][:10] for r in memory + agents})
    first = days[0]
    tasks = [m for m in memory if m["timestamp"].startswith(first.date)]
    runs = [a for a in agents if a["timestamp"].startswith(first.date)]
    assert (first.tasks, first.runs) == (len(tasks), len(runs))
    assert first.task_success_rate == round(
        sum(m["outcome"] == "success" for m in tasks) / len(tasks), 4)
    assert first.run_success_rate == round(sum(a["success"] for a in runs) / len(runs), 4)


def test_failure_analysis(doc: dict[str, Any]) -> None:
    memory, agents = copy.deepcopy(doc["memory"]), copy.deepcopy(doc["analytics"]["agents"])
    f = build(doc).failures
    outcomes = Counter(m["outcome"] for m in memory)
    assert [(o.outcome, o.tasks) for o in f.outcomes] == sorted(
        ((k, v) for k, v in outcomes.items() if k != "success"), key=lambda kv: (-kv[1], kv[0]))
    assert f.failed_tasks == len(memory) - outcomes["success"]
    top = f.outcomes[0]
    assert top.top_agent_tasks == max(Counter(m["agent_id"] for m in memory
                                              if m["outcome"] == top.outcome).values())
    rates = [a.success_rate for a in f.lowest_agents]
    assert rates == sorted(rates) and all(a.runs >= MIN_RUNS for a in f.lowest_agents)
    ran = Counter(a["agent_name"] for a in agents)
    every = sorted(sum(a["success"] for a in agents if a["agent_name"] == n) / c
                   for n, c in ran.items() if c >= MIN_RUNS)
    assert rates[0] == round(every[0], 4)


def test_filters_narrow_what_is_shown(doc: dict[str, Any]) -> None:
    name = doc["capabilities"]["metrics"][2]["capability_id"]
    since = sorted(m["timestamp"][:10] for m in doc["memory"])[-3]
    view = build(doc, capabilities_only=[name], since=since)
    assert [r.capability_id for r in view.capabilities.rows] == [name]
    assert view.trends and all(d.date >= since for d in view.trends)
    assert view.filters == {"capabilities": [name], "since": since}


def test_an_unknown_capability_is_a_usage_error(doc: dict[str, Any]) -> None:
    with pytest.raises(UsageError) as caught:
        build(doc, capabilities_only=["code_reveiw"])
    assert caught.value.render().startswith(
        "--capability code_reveiw: no such capability in this project (did you mean "
        "'code_review'?). Known: ")


def test_the_json_shape_is_the_documented_one(doc: dict[str, Any]) -> None:
    documented = documented_shape(DOCS.read_text("utf-8"), "dashboard")
    actual = to_dict(build(doc))
    assert keys(actual) == keys(documented)
    assert actual["dashboard_version"] == documented["dashboard_version"] == 1
    assert json.loads(json.dumps(actual)) == actual  # plain JSON values only


def test_sparklines() -> None:
    assert text_view.sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert text_view.sparkline([0.2, None, 0.2]) == "▄ ▄"
    assert text_view.sparkline([]) == ""
    assert len(text_view.sparkline([float(i) for i in range(100)], 10)) == 10


def test_the_text_fits_80_columns(doc: dict[str, Any], tmp_path: Path) -> None:
    wide = generate(tmp_path / "typical", "typical", 5).root
    for view in (build(doc), build(collect(wide)), build(tiny())):
        text = text_view.render(view)
        assert max(cell_len(line) for line in text.splitlines()) <= 80
        for heading in ("Capabilities (by usage)", "Patterns", "Security", "Trends per day",
                        "Failure analysis: "):
            assert heading in text
    assert "… and " in text_view.render(build(collect(wide)))  # 100 capabilities: the top


class _Tags(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "circle", "polyline", "polygon",
            "line", "rect"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.seen[tag] += 1
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.seen[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()


def test_the_html_is_one_self_contained_page(doc: dict[str, Any]) -> None:
    page = html_view.render(build(doc))
    for banned in ("http:", "https:", "//", "<script", "<link", "src=", "href=", "url(",
                   "@import", "<iframe", "<object"):
        assert banned not in page, banned
    assert "Content-Security-Policy\" content=\"default-src 'none';" in page
    tags = _Tags()
    tags.feed(page)
    tags.close()
    assert tags.open == []
    assert tags.seen["svg"] >= 4 and tags.seen["table"] == 2 and tags.seen["html"] == 1


def test_the_html_escapes_what_the_data_says() -> None:
    metrics = [{"capability_id": '<script>alert("x")</script>', "usage_count": 3,
                "success_rate": 0.5, "agent_id": "<i>evil</i>"}]
    page = html_view.render(build(tiny(metrics=metrics)))
    assert "<script>" not in page
    assert "<i>evil" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page and "&lt;i&gt;evil" in page


def _png(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    pixels, at = b"", 8
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            pixels += data[at + 8:at + 8 + size]
        at += 12 + size
    return width, height, zlib.decompress(pixels)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    pytest.fail(f"the HTML dashboard test needs Chromium, which is not installed: "
                f"{INSTALL_CHROMIUM}")


@pytest.mark.browser
def test_the_html_renders_in_headless_chromium(small: Path, tmp_path: Path) -> None:
    page, shot = tmp_path / "dashboard.html", tmp_path / "dashboard.png"
    done = run_cli("dashboard", small, "--format", "html", "-o", page, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    browser = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         "--window-size=1280,2000", page.as_uri()],
        capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert browser.returncode == 0, browser.stderr
    console = [line for line in browser.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "the page logged errors (blocked loads, CSP violations):\n" + \
        "\n".join(console)
    width, height, pixels = _png(shot)
    assert (width, height) == (1280, 2000)
    assert len(set(pixels[::101])) > 40, "the screenshot is blank"


def test_a_project_without_records_still_has_a_dashboard(tmp_path: Path) -> None:
    (tmp_path / "empty" / ".tapps-agents").mkdir(parents=True)
    for fmt in ("text", "json", "html"):
        done = run_cli("dashboard", "empty", "--format", fmt, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    view = build(collect(tmp_path / "empty"))
    assert view.period is None and view.capabilities.rows == ()
    assert "No capabilities." in html_view.render(view)
    assert "capabilities: .tapps-agents/capabilities/capabilities.json not found" in view.warnings


def test_the_installed_command(small: Path, tmp_path: Path) -> None:
    done = run_cli("dashboard", small, cwd=tmp_path)
    assert done.returncode == 0 and "Learning dashboard · project" in done.stdout
    assert max(cell_len(line) for line in done.stdout.splitlines()) <= 80
    done = run_cli("dashboard", small, "--format", "json", "-o", "d.json", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr.startswith("wrote d.json (")
    assert json.loads((tmp_path / "d.json").read_text("utf-8"))["project"]["name"] == "project"
    packed = run_cli("dashboard", small, "--format", "json", "-o", "d.json.gz", cwd=tmp_path)
    size = (tmp_path / "d.json.gz").stat().st_size  # the size written, not the text's
    assert packed.stderr == f"wrote d.json.gz ({size} bytes)\n" and size < len(
        gzip.decompress((tmp_path / "d.json.gz").read_bytes()))
    bad = run_cli("dashboard", small, "--since", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and "--since 'yesterday' is not a date" in bad.stderr
    missing = run_cli("dashboard", tmp_path / "nope", cwd=tmp_path)
    assert missing.returncode == 1 and "is not a folder" in missing.stderr


def test_every_command_in_the_dashboard_docs_runs_as_shown(tmp_path: Path) -> None:
    examples = console_examples(DOCS.read_text("utf-8"))
    assert len(examples) >= 4
    for example in examples:
        check_example(example, tmp_path, "docs/dashboard.md")


@pytest.mark.parametrize(("capabilities", "since"), [((), None), (("code_generation",), None),
                                                       ((), "2026-01-10")])
def test_a_lazy_document_gives_the_same_dashboard(small: Path, tmp_path: Path,
                                                  capabilities: tuple[str, ...],
                                                  since: str | None) -> None:
    """The command reads a project as streams (records folded, never held): the figures,
    sources and warnings are those of the fully loaded document, damaged lines too."""
    damaged = tmp_path / "damaged"
    shutil.copytree(small, damaged)
    history = sorted((damaged / ".tapps-agents" / "analytics" / "history").glob("agents-*"))[0]
    with history.open("a") as handle:
        handle.write('{"agent_name": "reviewer", "success": tru\n')
    with (damaged / ".tapps-agents" / "learning" / "outcomes.jsonl").open("a") as handle:
        handle.write("not json\n")
    moment = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    eager = build(collect(damaged), capabilities_only=capabilities, since=since, now=moment)
    lazy = build(collect(damaged, lazy=True), capabilities_only=capabilities, since=since,
                 now=moment)
    assert to_dict(lazy) == to_dict(eager)
    assert any("analytics_agents" in w for w in eager.warnings)
    assert any("outcomes" in w for w in eager.warnings)


def test_a_lazy_document_of_a_project_without_records_keeps_its_warnings(
        tmp_path: Path) -> None:
    (tmp_path / "bare" / ".tapps-agents").mkdir(parents=True)
    moment = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    eager = build(collect(tmp_path / "bare"), now=moment)
    lazy = build(collect(tmp_path / "bare", lazy=True), now=moment)
    assert to_dict(lazy) == to_dict(eager) and len(eager.warnings) >= 8
