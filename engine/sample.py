"""Realistic sample projects: a ``.tapps-agents/`` folder in the framework's real formats.

``generate(root, size, seed)`` writes every source the collector reads (see
docs/tapps-agents-formats.md) with the sensitive values real projects carry: absolute paths
with user names, e-mails, API keys and tokens, credentials in URLs, IP addresses, raw code,
customer names in custom capability ids. ``SampleInfo.planted`` holds every one of them as
the exact substring of a decoded JSON string value, so tests can assert none survives an
export. Same seed and size, same bytes: all randomness comes from ``random.Random(seed)``
and all times from a fixed base date. Sizes, contents and corruption: docs/sample.md.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from . import choices

__all__ = ["SIZES", "SampleInfo", "SizeSpec", "generate"]


@dataclass(frozen=True)
class SizeSpec:
    """How many records of each kind a sample holds."""

    capabilities: int
    patterns: int
    memories: int
    analytics: int  # agents and workflows lines together
    days: int  # one agents and one workflows file a day
    outcomes: int
    expert_performance: int
    weight_adjustments: int
    pool: int  # distinct values of each kind of sensitive string


SIZES: dict[str, SizeSpec] = dict(zip(choices.SAMPLE_SIZES, (  # small, typical, large
    SizeSpec(8, 40, 60, 400, 10, 40, 40, 40, pool=6),
    SizeSpec(100, 1_000, 2_000, 20_000, 30, 1_000, 1_500, 300, pool=40),
    SizeSpec(1_000, 10_000, 100_000, 1_000_000, 90, 50_000, 100_000, 10_000, pool=400),
), strict=True))


@dataclass(frozen=True)
class SampleInfo:
    """What ``generate`` wrote: records per collector source, and every planted value."""

    root: Path
    size: str
    seed: int
    counts: dict[str, int] = field(hash=False)
    planted: frozenset[str]
    corruptions: tuple[str, ...] = ()  # "<file name> line N"; only with corrupt=True


BASE_DAY = date(2026, 1, 5)
FRAMEWORK_VERSIONS = ("3.5.2", "3.6.0", "3.6.3")
AGENT_SHARE = 0.8  # of the analytics lines; the rest are workflow lines
HARDWARE = ("nuc", "development", "workstation", "server", "unknown")
FRAMEWORK_CAPS = (
    "code_generation", "code_review", "testing", "documentation", "refactoring", "debugging",
    "security_scan", "architecture", "planning", "design", "performance_analysis",
    "dependency_audit", "test_generation", "requirements_analysis", "deployment", "ux_review",
)  # fmt: skip
AGENTS = (
    ("reviewer",) * 5 + ("implementer",) * 6 + ("tester",) * 4 + ("debugger",) * 2
    + ("architect", "designer", "planner", "planner", "documenter", "ops", "analyst",
       "enhancer", "orchestrator", "evaluator")
)  # fmt: skip
WORKFLOWS = ("rapid",) * 4 + ("full-sdlc", "full-sdlc", "quality", "quality", "bugfix",
             "bugfix", "bugfix", "enhancement", "maintenance", "brownfield-analysis")  # fmt: skip
OUTCOMES = ("success", "failure", "partial", "cancelled")
OUTCOME_WEIGHTS = (70, 13, 12, 5)
IMPROVEMENTS = ("prompt_optimization", "pattern_learning", "feedback_loop")
DOMAINS = ("security", "performance", "testing", "database", "api-design", "accessibility",
           "cloud-infrastructure", "code-quality")  # fmt: skip
SCORES = ("complexity_score", "security_score", "maintainability_score",
          "test_coverage_score", "performance_score")  # fmt: skip
FIRST = ("alice", "bob", "carol", "dmitri", "emeka", "fatima", "giulia", "hiro", "ines",
         "jonas", "kavya", "liam", "mei", "noor", "olga", "pablo", "rosa", "sven", "tariq",
         "viktor", "wen", "yusuf", "zoe")  # fmt: skip
LAST = ("nakamura", "okafor", "schmidt", "haddad", "lindqvist", "moreau", "patel", "rossi",
        "silva", "tanaka", "novak", "kowalski", "oconnor", "mendes", "ivanova")  # fmt: skip
CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli", "vandelay", "wonka",
             "stark", "tyrell", "cyberdyne", "aperture", "oscorp", "soylent", "wayne",
             "nakatomi")  # fmt: skip
CUSTOMER_KINDS = ("corp", "labs", "group", "health", "bank", "logistics", "retail", "energy")
PRODUCTS = ("invoice", "ledger", "claims", "payroll", "shipment", "booking", "kyc", "pricing",
            "inventory", "telemetry", "billing", "onboarding")  # fmt: skip
ACTIONS = ("parser", "validator", "sync", "exporter", "reconciler", "scorer", "router",
           "importer", "matcher", "notifier")  # fmt: skip
VERBS = ("parse", "load", "sync", "validate", "render", "fetch", "compute", "export", "merge",
         "upload", "resolve", "normalize")  # fmt: skip
NOUNS = ("invoice_total", "customer_accounts", "payroll_rows", "claim_status",
         "s3_manifest", "user_session", "tax_rates", "shipment_events", "ledger_entries",
         "kyc_documents")  # fmt: skip
MODULES = ("src/app", "src/api", "src/billing", "services/sync", "lib/core", "tests/unit")
FILES = ("main.py", "models.py", "handlers.py", "client.py", "settings.py", "tasks.py", "utils.py")
BROKEN_OUTCOME_LINE = '{"workflow_id": "wf-interrupted", "file_path": "src/app'
TRUNCATED_AGENT_LINE = '{"agent_id": "reviewer", "agent_name": "reviewer", "durat'
_ALNUM = string.ascii_letters + string.digits
_JWT_HEAD = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


class Planter:
    """Makes sensitive values from per-seed pools and remembers every one it hands out.

    The first ``pool`` values of a kind are new, later ones reuse the pool, as real
    projects repeat the same home folder or leaked key. Groups of kinds are handed out in
    turn first, so even the small sample holds every kind.
    """

    def __init__(self, rng: random.Random, pool: int, days: int) -> None:
        self.rng, self.pool, self.days = rng, pool, days
        self.planted: set[str] = set()
        self._pools: dict[str, list[str]] = {}
        self._turns: dict[tuple[str, ...], int] = {}
        self._custom: set[str] = set()

    def plant(self, value: str) -> str:
        self.planted.add(value)
        return value

    def pick(self, kind: str) -> str:
        pool = self._pools.setdefault(kind, [])
        if len(pool) < self.pool:
            pool.append(MAKERS[kind](self))
            return self.plant(pool[-1])
        return self.plant(pool[self.rng.randrange(len(pool))])

    def turn(self, kinds: tuple[str, ...]) -> str:
        n = self._turns.get(kinds, 0)
        self._turns[kinds] = n + 1
        return self.pick(kinds[n] if n < len(kinds) else self.rng.choice(kinds))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def path(self) -> str:
        return self.turn(("unix_path", "win_path", "mac_path", "tilde_path"))

    def secret(self) -> str:
        return self.turn(("aws", "github", "openai", "jwt", "password_line"))

    def relpath(self) -> str:
        return f"{self.rng.choice(MODULES)}/{self.rng.choice(FILES)}"

    def repo(self) -> str:
        return f"{self.rng.choice(CUSTOMERS)}-{self.rng.choice(PRODUCTS)}"

    def func(self) -> str:
        return f"{self.rng.choice(VERBS)}_{self.rng.choice(NOUNS)}"

    def timestamp(self, frac: float, aware: bool) -> str:
        """An ISO time ``frac`` (0-1) of the way through the sample's days, with jitter."""
        day = BASE_DAY + timedelta(days=min(self.days - 1, int(frac * self.days)))
        s = self.rng.randrange(25_200, 75_600)
        us = self.rng.randrange(1_000_000)
        stamp = f"{day.isoformat()}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{us:06d}"
        return stamp + "+00:00" if aware else stamp

    def custom_capability(self) -> str:
        while True:
            rng = self.rng
            cid = "_".join((rng.choice(CUSTOMERS), rng.choice(CUSTOMER_KINDS),
                            rng.choice(PRODUCTS), rng.choice(ACTIONS)))  # fmt: skip
            if cid not in self._custom:
                self._custom.add(cid)
                return self.plant(cid)

    def _make_user(self) -> str:
        return f"{self.rng.choice(FIRST)}.{self.rng.choice(LAST)}"

    def _make_email(self) -> str:
        domain = f"{self.rng.choice(CUSTOMERS)}-{self.rng.choice(CUSTOMER_KINDS)}.com"
        return f"{self.pick('user')}@{self.rng.choice((domain, domain, 'gmail.com'))}"

    def _make_unix_path(self) -> str:
        where = self.rng.choice(("work", "projects", "src", "code"))
        return f"/home/{self.pick('user')}/{where}/{self.repo()}/{self.relpath()}"

    def _make_mac_path(self) -> str:
        return f"/Users/{self.pick('user')}/Developer/{self.repo()}/{self.relpath()}"

    def _make_win_path(self) -> str:
        rel = self.relpath().replace("/", "\\")
        return f"C:\\Users\\{self.pick('user')}\\source\\repos\\{self.repo()}\\{rel}"

    def _make_tilde_path(self) -> str:
        return f"~/work/{self.repo()}-{self.chars(string.digits, 3)}/{self.relpath()}"

    def _make_aws(self) -> str:
        return "AKIA" + self.chars(string.ascii_uppercase + "234567", 16)

    def _make_github(self) -> str:
        return "ghp_" + self.chars(_ALNUM, 36)

    def _make_openai(self) -> str:
        return "sk-" + self.chars(_ALNUM, 48)

    def _make_jwt(self) -> str:
        claims = json.dumps(
            {"sub": self.pick("user"), "iat": 1767600000 + self.rng.randrange(10**6)}
        )
        body = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
        return f"{_JWT_HEAD}.{body}.{self.chars(_ALNUM + '-_', 43)}"

    def _make_password(self) -> str:
        return self.chars(_ALNUM + "!#%*", 14)

    def _make_password_line(self) -> str:
        return f"password={self.pick('password')}"

    def _make_ip(self) -> str:
        a, b, c = (self.rng.randrange(10, 250) for _ in range(3))
        return self.rng.choice((f"10.{a}.{b}.{c}", f"192.168.{b}.{c}", f"52.{a}.{b}.{c}"))

    def _make_cred_url(self) -> str:
        kind, user = self.rng.randrange(3), self.pick("user")
        if kind == 0:
            return f"https://{user}:{self.pick('github')}@github.com/{self.repo()}.git"
        pw, ip = self.pick("password"), self.pick("ip")
        if kind == 1:
            return f"postgresql://{user.split('.')[0]}:{pw}@{ip}:5432/{self.rng.choice(PRODUCTS)}"
        return f"mongodb://admin:{pw}@{ip}:27017/?authSource=admin"

    def _make_private_key(self) -> str:
        lines = ["MIIEowIBAAKCAQEA" + self.chars(_ALNUM + "+/", 48)]
        lines += [self.chars(_ALNUM + "+/", 64) for _ in range(3)]
        self.plant(lines[0])
        body = "\n".join(lines)
        return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"


_r3 = round


# How each kind of planted value is made: an explicit table, one place to add a kind.
MAKERS: dict[str, Callable[[Planter], str]] = {
    "user": Planter._make_user,
    "email": Planter._make_email,
    "unix_path": Planter._make_unix_path,
    "mac_path": Planter._make_mac_path,
    "win_path": Planter._make_win_path,
    "tilde_path": Planter._make_tilde_path,
    "aws": Planter._make_aws,
    "github": Planter._make_github,
    "openai": Planter._make_openai,
    "jwt": Planter._make_jwt,
    "password": Planter._make_password,
    "password_line": Planter._make_password_line,
    "ip": Planter._make_ip,
    "cred_url": Planter._make_cred_url,
    "private_key": Planter._make_private_key,
}


def _learning(p: Planter) -> str:
    """A key learning, a query or a reason: free text that often quotes paths and secrets."""
    r = p.rng.randrange(12)
    if r == 0:
        return f"Reading {p.path()} failed until the encoding was set to utf-8"
    if r == 1:
        return f"Tests need AWS_ACCESS_KEY_ID={p.pick('aws')} exported; move it to the vault"
    if r == 2:
        return f"Ask {p.pick('email')} before changing the billing schema"
    if r == 3:
        return f"Staging database is {p.pick('cred_url')}"
    if r == 4:
        return f"Uploads to {p.pick('ip')} need retries with backoff"
    if r == 5:
        return f"Hard-coded credential {p.secret()} found in settings.py; rotate it"
    if r == 6:
        return f"Calling {p.func()}() twice corrupts the cache — make it idempotent"
    return p.rng.choice((
        "Small pure functions made the review faster",
        "Prefer dataclasses over dicts for configuration objects",
        "Parametrized tests caught the off-by-one in pagination",
        "Überprüfung der Eingaben vor dem Parsen spart Iterationen",
        "Run the linter before asking for a review",
    ))  # fmt: skip


_VULN_LINES: dict[str, Callable[[Planter], str]] = {
    "sql-injection": lambda p: (
        '    cursor.execute(f"SELECT * FROM invoices WHERE customer = {name}")'
    ),
    "xss": lambda p: '    return HttpResponse("<p>" + request.GET["q"] + "</p>")',
    "hardcoded-secret": lambda p: f'    API_KEY = "{p.turn(("aws", "github", "openai"))}"',
    "path-traversal": lambda p: (
        '    return open(os.path.join(UPLOAD_DIR, request.args["f"])).read()'
    ),
    "command-injection": lambda p: '    subprocess.call("convert " + filename, shell=True)',
    "insecure-deserialization": lambda p: "    return pickle.loads(request.data)",
    "weak-crypto": lambda p: "    digest = hashlib.md5(password.encode()).hexdigest()",
}
_SENSITIVE_LINES: tuple[Callable[[Planter], str], ...] = (
    lambda p: f'    conn = psycopg2.connect("{p.pick("cred_url")}")',
    lambda p: f'    with open(r"{p.path()}") as fh:',
    lambda p: f'    s3 = boto3.client("s3", aws_access_key_id="{p.pick("aws")}")',
    lambda p: f'    headers = {{"Authorization": "token {p.pick("github")}"}}',
)
_PLAIN_LINES = (
    "    total = sum(item.amount for item in items)",
    "    if not rows:\n        return []",
    "    result = {k: v for k, v in data.items() if v is not None}",
    '    logger.info("processed %d records", len(rows))',
    "    return result",
)


def _body(p: Planter, first: str | None) -> str:
    """A function body: the telling line first (so ``[:200]`` keeps it), then plain code."""
    lines = [first] if first else []
    lines += p.rng.sample(_PLAIN_LINES, 3)
    return "\n".join(lines)[:200]


def _pattern_head(p: Planter, kind: str) -> tuple[str, str]:
    """The first line(s) of a snippet, named from user code, and the pattern id."""
    rng = p.rng
    name, n = p.func(), rng.randrange(1000, 10_000)
    if kind == "function":
        args = rng.choice(("path", "rows, *, strict=True", "request"))
        return f"def {name}({args}):", f"func_{name}_{n}"
    if kind == "class":
        cls = "".join(w.title() for w in name.split("_"))
        base = rng.choice(("BaseModel", "Protocol", "object"))
        return f"class {cls}({base}):", f"class_{cls}_{n}"
    if kind == "import":
        return f"from {p.repo().replace('-', '_')}.core import {name}", f"imports_{n}"
    route = f"@app.route('/api/v1/{rng.choice(PRODUCTS)}/<id>')"
    return f"{route}\ndef {name}(id):", f"decorators_{n}"


def pattern(p: Planter, i: int) -> dict:
    """A CodePattern; about one in seven is an anti-pattern with vulnerabilities."""
    rng = p.rng
    kind = rng.choice(("function",) * 5 + ("class", "class", "import", "structure"))
    anti = kind in ("function", "class") and rng.random() < 0.15
    vulns = rng.sample(sorted(_VULN_LINES), rng.choice((1, 1, 2))) if anti else []
    first = _VULN_LINES[vulns[0]](p) if anti else None
    if first is None and rng.random() < 0.35:
        first = rng.choice(_SENSITIVE_LINES)(p)
    head, pid = _pattern_head(p, kind)
    p.plant(head.split("\n")[-1])
    where = p.path() if rng.random() < 0.6 else p.relpath()
    return {
        "pattern_id": pid, "pattern_type": kind, "code_snippet": f"{head}\n{_body(p, first)}",
        "context": (f"Anti-pattern: {', '.join(vulns)} in {where}" if anti
                    else f"Extracted from {where} during a {rng.choice(WORKFLOWS)} workflow"),
        "quality_score": _r3(rng.uniform(0.1, 0.5) if anti else rng.uniform(0.55, 0.98), 3),
        "usage_count": rng.randrange(0, 60),
        "success_rate": _r3(rng.uniform(0.2, 0.6) if anti else rng.uniform(0.6, 1.0), 3),
        "learned_from": [f"task_{rng.randrange(10_000)}" for _ in range(rng.randrange(1, 4))],
        "metadata": ({"vulnerabilities": vulns, "detected_by": "bandit", "file": where} if anti
                     else rng.choice(({}, {"language": "python"}, {"source_file": where}))),
        "security_score": _r3(rng.uniform(0.5, 4.5) if anti else rng.uniform(6.0, 10.0), 1),
        "is_anti_pattern": anti,
        "failure_reasons": ([f"Rejected by reviewer: {vulns[0]} in {p.path()}", _learning(p)]
                            if anti else []),
        "rejection_count": rng.randrange(1, 7) if anti else 0,
    }  # fmt: skip


def capability(p: Planter, i: int, total: int) -> dict:
    """A CapabilityMetric: framework capabilities first, then customers' own."""
    rng = p.rng
    n_framework = min(len(FRAMEWORK_CAPS), total - max(2, total // 4))
    custom = i >= n_framework
    usage = rng.randrange(0, 400) if i else 0  # the first has never been improved
    metadata: dict = {}
    if custom:
        metadata = {"owner": p.pick("email"), "repository": p.pick("cred_url"),
                    "registered_from": p.path()}  # fmt: skip
    return {
        "capability_id": p.custom_capability() if custom else FRAMEWORK_CAPS[i],
        "agent_id": rng.choice(AGENTS),
        "success_rate": _r3(rng.uniform(0.4, 0.98), 3),
        "average_duration": _r3(rng.uniform(0.5, 30.0), 3),
        "quality_score": _r3(rng.uniform(0.3, 0.95), 3),
        "usage_count": usage,
        "last_improved": p.timestamp(rng.random(), aware=True) if usage else None,
        "refinement_history": [],
        "metadata": metadata,
    }


def refinements(p: Planter, cap: dict, pattern_ids: list[str]) -> list[dict]:
    """0-4 refinement entries, each improving on the one before."""
    rng, out = p.rng, []
    keys = ("success_rate", "average_duration", "quality_score", "usage_count")
    before = {k: cap[k] for k in keys}
    for _ in range(rng.randrange(0, 5) if cap["usage_count"] else 0):
        after = dict(before, success_rate=_r3(min(1.0, before["success_rate"] + 0.03), 3),
                     usage_count=before["usage_count"] + rng.randrange(1, 20))  # fmt: skip
        out.append({
            "timestamp": p.timestamp(rng.random(), aware=True),
            "improvement_type": rng.choice(IMPROVEMENTS),
            "before_metric": before, "after_metric": after,
            "improvement_percent": _r3(rng.uniform(0.5, 12.0), 2),
            "learned_patterns": rng.sample(pattern_ids, min(len(pattern_ids), rng.randrange(0, 3))),
            "metadata": {"note": _learning(p)} if rng.random() < 0.5 else {},
        })  # fmt: skip
        before = after
    return out


def _command(p: Planter, agent: str) -> str:
    rng = p.rng
    if agent in ("reviewer", "documenter", "analyst"):
        return f"{agent[:-2] if agent.endswith('er') else 'analyze'} {p.path()}"
    if agent in ("implementer", "enhancer"):
        return (
            f"implement {p.func()} --api-key {p.pick('openai')}"
            if rng.random() < 0.3
            else f"implement {p.func()} in {p.relpath()}"
        )
    if agent == "tester":
        return f"test {p.relpath()} --db {p.pick('cred_url')}"
    if agent == "debugger":
        return f"debug 'KeyError in {p.func()}' {p.path()}"
    if agent == "ops":
        return f"deploy --host {p.pick('ip')} --token {p.pick('github')}"
    return f"{rng.choice(('plan', 'design'))} {p.func()} for {p.repo()}"


def _context(p: Planter, i: int) -> dict:
    """Memory context: nested dicts and lists, as agents store them."""
    r = p.rng.random
    ctx: dict[str, object] = {}
    if r() < 0.6:
        ctx["files"] = [p.path(), p.relpath()]
    if r() < 0.3:
        ctx["env"] = {"DATABASE_URL": p.pick("cred_url"), "AWS_ACCESS_KEY_ID": p.pick("aws"),
                      "DEBUG": "1"}  # fmt: skip
    if r() < 0.4:
        ctx["git"] = {"branch": f"feature/{p.func()}", "remote": p.pick("cred_url"),
                      "author": {"email": p.pick("email"), "home": p.path()}}  # fmt: skip
    if r() < 0.3:
        ctx["request"] = {"client_ip": p.pick("ip"),
                          "headers": {"Authorization": f"Bearer {p.pick('jwt')}"}}  # fmt: skip
    if r() < 0.25:
        ctx["steps"] = [{"tool": "pytest", "exit_code": 1, "stderr": f"KeyError: {p.secret()}"},
                        {"tool": "ruff", "exit_code": 0, "cwd": p.path()}]  # fmt: skip
    if i % 500 == 7:
        ctx["attachments"] = [{"name": "deploy_key", "content": p.pick("private_key")}]
    return ctx


def memory(p: Planter, i: int, total: int, pattern_ids: list[str]) -> dict:
    """A TaskMemory; tasks are in time order, timestamps aware or naive."""
    rng = p.rng
    agent = rng.choice(AGENTS)
    metadata: dict = {} if rng.random() < 0.4 else {"workflow": rng.choice(WORKFLOWS)}
    if rng.random() < 0.3:
        metadata["reviewer"] = p.pick("email")
    return {
        "task_id": f"task_{i}",
        "agent_id": agent,
        "command": _command(p, agent),
        "timestamp": p.timestamp(i / total, aware=rng.random() < 0.6),
        "outcome": rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0],
        "quality_score": _r3(rng.uniform(0.2, 1.0), 3),
        "key_learnings": [_learning(p) for _ in range(rng.randrange(0, 4))],
        "patterns_used": rng.sample(pattern_ids, min(len(pattern_ids), rng.randrange(0, 4))),
        "similar_tasks": [
            f"task_{j}" for j in sorted(rng.sample(range(i), min(i, rng.randrange(3))))
        ],
        "context": _context(p, i),
        "metadata": metadata,
    }


def outcome(p: Planter, i: int, total: int) -> dict:
    """A CodeOutcome line of outcomes.jsonl (naive UTC time, as ``datetime.utcnow``)."""
    rng = p.rng
    initial = {k: _r3(rng.uniform(3.0, 9.5), 2) for k in SCORES}
    final = {k: _r3(min(10.0, v + rng.uniform(0.0, 2.5)), 2) for k, v in initial.items()}
    iterations = rng.choice((1, 1, 1, 2, 2, 3, 4, 5))
    return {
        "workflow_id": f"wf-{rng.getrandbits(40):010x}",
        "file_path": p.path() if rng.random() < 0.5 else p.relpath(),
        "initial_scores": initial,
        "final_scores": final,
        "iterations": iterations,
        "expert_consultations": rng.randrange(0, 5),
        "time_to_correctness": _r3(rng.uniform(5.0, 60.0) * iterations, 3),
        "first_pass_success": iterations == 1,
        "timestamp": p.timestamp(i / total, aware=False),
        "agent_id": rng.choice(AGENTS) if rng.random() < 0.95 else None,
        "prompt_hash": f"{rng.getrandbits(64):016x}" if rng.random() < 0.95 else None,
    }


def expert_performance(p: Planter, i: int, total: int) -> dict:
    rng = p.rng
    domain = rng.choice(DOMAINS)
    query = _learning(p) if rng.random() < 0.6 else f"How should {p.func()} handle {domain}?"
    return {
        "expert_id": f"expert-{domain}",
        "domain": domain,
        "confidence": _r3(rng.uniform(0.3, 0.99), 3),
        "query": query,
        "timestamp": p.timestamp(i / total, aware=False),
    }


def weight_adjustment(p: Planter, i: int, total: int) -> dict:
    rng = p.rng
    old = _r3(rng.uniform(0.1, 0.9), 3)
    reason = rng.choice((
        lambda: "First-pass success improved after consultations",
        lambda: "Weight decayed: no consultations in 14 days",
        lambda: f"Advice broke the build in {p.path()}",
        lambda: f"Low confidence on queries from {p.pick('email')}",
    ))()  # fmt: skip
    return {
        "expert_id": f"expert-{rng.choice(DOMAINS)}",
        "old_weight": old,
        "new_weight": _r3(min(1.0, max(0.05, old + rng.uniform(-0.1, 0.1))), 3),
        "reason": reason,
        "timestamp": p.timestamp(i / total, aware=False),
    }


def config_yaml(version: str) -> str:
    return (
        "# TappsCodingAgents project configuration\n"
        f'framework_version: "{version}"\n'
        "project:\n  type: python\n"
        "agents:\n  reviewer:\n    quality_threshold: 70\n"
        "learning:\n  enabled: true\n"
        "analytics:\n  retention_days: 90\n"
    )


# ---- writing -------------------------------------------------------------------------------


def generate(
    root: Path, size: str = "small", seed: int = 0, *, corrupt: bool = False
) -> SampleInfo:
    """Write ``root/.tapps-agents/`` for a sample project; return what was written.

    With ``corrupt=True`` the last agents-*.jsonl file also ends with a truncated line (no
    newline) and the middle of outcomes.jsonl holds one line that is not JSON; both are
    listed in ``SampleInfo.corruptions`` and neither is counted as a record.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    spec, rng = SIZES[size], random.Random(seed)
    p = Planter(rng, spec.pool, spec.days)
    base = Path(root) / ".tapps-agents"
    for sub in ("capabilities", "learning", "memory", "analytics/history"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    patterns = [pattern(p, i) for i in range(spec.patterns)]
    pids = [x["pattern_id"] for x in patterns]
    counts["capabilities"] = _write_capabilities(base, p, spec.capabilities, pids)
    counts["patterns"] = _write_array(base / "learning" / "patterns.json", patterns)
    memories = (memory(p, i, spec.memories, pids) for i in range(spec.memories))
    counts["memory"] = _write_array(base / "memory" / "memories.json", memories)
    counts.update(_write_analytics(base / "analytics" / "history", rng, spec))
    corruptions = _write_learning(base / "learning", p, spec, counts, corrupt)
    if corrupt:
        corruptions.append(_truncate_last_agents_file(base / "analytics" / "history", spec))
    _write_text(base / "config.yaml", config_yaml(FRAMEWORK_VERSIONS[seed % 3]))
    counts["config"] = 1
    return SampleInfo(Path(root), size, seed, counts, frozenset(p.planted), tuple(corruptions))


def _write_text(path: Path, content: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(content)


def _write_capabilities(base: Path, p: Planter, n: int, pattern_ids: list[str]) -> int:
    caps = [capability(p, i, n) for i in range(n)]
    for cap in caps:
        cap["refinement_history"] = refinements(p, cap, pattern_ids)
    registry = {"version": "1.0", "hardware_profile": p.rng.choice(HARDWARE), "metrics": caps}
    _write_text(base / "capabilities" / "capabilities.json", json.dumps(registry, indent=2) + "\n")
    return n


def _write_array(path: Path, records: Iterable[dict]) -> int:
    """A JSON array, one record a line (the fast C encoder: no indent). Returns the count."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh:
        fh.write("[")
        for record in records:
            fh.write(",\n" if n else "\n")
            fh.write(json.dumps(record))
            n += 1
        fh.write("\n]\n")
    return n


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` spread unevenly (weights 0.5-1.5) over ``parts``; sums exactly to total."""
    weights = [0.5 + rng.random() for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    counts[-1] += total - sum(counts)
    return counts


def _day_times(rng: random.Random, day: date, n: int) -> list[str]:
    """``n`` sorted naive local times between 07:00 and 21:00 of ``day``."""
    prefix, out = day.isoformat() + "T", []
    for s in sorted(25_200 + 50_400 * rng.random() for _ in range(n)):
        sec = int(s)
        us = int((s - sec) * 1e6)
        out.append(f"{prefix}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{us:06d}")
    return out


_AGENT_LINE = (
    '{"agent_id": "%s", "agent_name": "%s", "duration": %r, "success": %s, "timestamp": "%s"}\n'
)
_WORKFLOW_LINE = (
    '{"workflow_id": "%s", "workflow_name": "%s", "duration": %r, "steps": %d, '
    '"success": %s, "timestamp": "%s"}\n'
)


def _agent_lines(rng: random.Random, day: date, n: int) -> str:
    """One day of agents lines, formatted from a template (json.dumps would be 3x slower)."""
    pick, rand, lines = rng.randrange, rng.random, []
    for ts in _day_times(rng, day, n):
        agent = AGENTS[pick(len(AGENTS))]
        ok = "true" if rand() < 0.88 else "false"
        lines.append(_AGENT_LINE % (agent, agent, round(0.2 + 40 * rand() ** 2, 3), ok, ts))
    return "".join(lines)


def _workflow_lines(rng: random.Random, day: date, n: int) -> str:
    pick, rand, lines = rng.randrange, rng.random, []
    for ts in _day_times(rng, day, n):
        name = WORKFLOWS[pick(len(WORKFLOWS))]
        ok = "true" if rand() < 0.82 else "false"
        wid = f"{name}-{rng.getrandbits(32):08x}"
        lines.append(_WORKFLOW_LINE % (wid, name, round(20 + 1800 * rand() ** 2, 3),
                                       2 + pick(12), ok, ts))  # fmt: skip
    return "".join(lines)


def _write_analytics(folder: Path, rng: random.Random, spec: SizeSpec) -> dict[str, int]:
    n_agents = round(spec.analytics * AGENT_SHARE)
    per_day = zip(_split(rng, n_agents, spec.days),
                  _split(rng, spec.analytics - n_agents, spec.days), strict=True)  # fmt: skip
    for i, (agents, flows) in enumerate(per_day):
        day = BASE_DAY + timedelta(days=i)
        _write_text(folder / f"agents-{day.isoformat()}.jsonl", _agent_lines(rng, day, agents))
        _write_text(folder / f"workflows-{day.isoformat()}.jsonl", _workflow_lines(rng, day, flows))
    return {"analytics_agents": n_agents, "analytics_workflows": spec.analytics - n_agents}


def _write_lines(path: Path, make: Callable[[int], dict], n: int, bad_line: int | None) -> None:
    """JSON lines; with ``bad_line`` (1-based) that line is a half-written, non-JSON one."""
    with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh:
        for i in range(n):
            if i + 1 == bad_line:
                fh.write(BROKEN_OUTCOME_LINE + "\n")
            fh.write(json.dumps(make(i)) + "\n")


def _write_learning(
    folder: Path, p: Planter, spec: SizeSpec, counts: dict[str, int], corrupt: bool
) -> list[str]:
    bad = spec.outcomes // 2 + 1 if corrupt else None
    logs = (
        ("outcomes", outcome, spec.outcomes),
        ("expert_performance", expert_performance, spec.expert_performance),
        ("weight_adjustments", weight_adjustment, spec.weight_adjustments),
    )
    for name, make, n in logs:
        line = bad if name == "outcomes" else None
        _write_lines(folder / f"{name}.jsonl", lambda i, m=make, n=n: m(p, i, n), n, line)  # type: ignore[misc]
        counts[name] = n
    return [f"outcomes.jsonl line {bad}"] if bad is not None else []


def _truncate_last_agents_file(folder: Path, spec: SizeSpec) -> str:
    """Append half a record without newline, as when the framework is killed mid-write."""
    day = BASE_DAY + timedelta(days=spec.days - 1)
    path = folder / f"agents-{day.isoformat()}.jsonl"
    with open(path, "rb") as fh:
        n_lines = sum(1 for _ in fh)
    with open(path, "a", encoding="utf-8", newline="\n") as fh:
        fh.write(TRUNCATED_AGENT_LINE)
    return f"{path.name} line {n_lines + 1}"
