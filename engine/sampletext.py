"""The vocabulary and the planted values of sample projects (``sample``): names,
capability and agent lists, and the ``Planter``, which makes each kind of sensitive
string (paths, e-mails, keys, tokens, JWTs, private keys, credentials in URLs, IP
addresses, code) from the run's random generator and records every one it plants."""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from datetime import date, timedelta

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


r3 = round


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


# Learnings that quote a sensitive value: one of 12 draws picks each, the rest are plain.
_QUOTING: tuple[Callable[[Planter], str], ...] = (
    lambda p: f"Reading {p.path()} failed until the encoding was set to utf-8",
    lambda p: f"Tests need AWS_ACCESS_KEY_ID={p.pick('aws')} exported; move it to the vault",
    lambda p: f"Ask {p.pick('email')} before changing the billing schema",
    lambda p: f"Staging database is {p.pick('cred_url')}",
    lambda p: f"Uploads to {p.pick('ip')} need retries with backoff",
    lambda p: f"Hard-coded credential {p.secret()} found in settings.py; rotate it",
    lambda p: f"Calling {p.func()}() twice corrupts the cache — make it idempotent",
)


def learning_text(p: Planter) -> str:
    """A key learning, a query or a reason: free text that often quotes paths and secrets."""
    r = p.rng.randrange(12)
    if r < len(_QUOTING):
        return _QUOTING[r](p)
    return p.rng.choice((
        "Small pure functions made the review faster",
        "Prefer dataclasses over dicts for configuration objects",
        "Parametrized tests caught the off-by-one in pagination",
        "Überprüfung der Eingaben vor dem Parsen spart Iterationen",
        "Run the linter before asking for a review",
    ))  # fmt: skip


VULN_LINES: dict[str, Callable[[Planter], str]] = {
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
SENSITIVE_LINES: tuple[Callable[[Planter], str], ...] = (
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


def code_body(p: Planter, first: str | None) -> str:
    """A function body: the telling line first (so ``[:200]`` keeps it), then plain code."""
    lines = [first] if first else []
    lines += p.rng.sample(_PLAIN_LINES, 3)
    return "\n".join(lines)[:200]
