"""Detectors: a table of positives and negatives per detector, then properties.

A positive is ``(detector, text, expected match)``: ``find(text, [detector])`` must report
exactly that substring. A negative is ``(detector, text)``: no finding at all. The
``LEGITIMATE`` strings are what a clean export holds: no detector may fire on them.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from learnexport import detectors, leakscan
from learnexport.detectors import (
    DETECTORS,
    LEAK_DEFAULT,
    REDACT_DEFAULT,
    Finding,
    find,
    first,
    mask_preview,
    redact,
    scanner,
)

GH_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nb3Bl==\n-----END RSA PRIVATE KEY-----"
PEM_CUT = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg"

POSITIVES: list[tuple[str, str, str | None]] = [
    # path
    ("path", "open /home/alice/x.py now", "/home/alice/x.py"),
    ("path", "/Users/bob", "/Users/bob"),
    ("path", "read /etc/passwd.", "/etc/passwd"),
    ("path", "served from /var/www/app/", "/var/www/app/"),
    ("path", "/etc", "/etc"),
    ("path", "PATH=/usr/local/bin:/usr/bin", "/usr/local/bin"),
    ("path", "see '/home/a/.ssh/id_rsa'", "/home/a/.ssh/id_rsa"),
    ("path", r"C:\Users\bob\x", r"C:\Users\bob\x"),
    ("path", "C:/Users/bob", "C:/Users/bob"),
    ("path", r"file at D:\\proj\\app.py", r"D:\\proj\\app.py"),
    ("path", r"\\server\share\folder", r"\\server\share\folder"),
    ("path", "cd ~/work/x", "~/work/x"),
    ("path", "~user/x", "~user/x"),
    ("path", "(/opt/app/run.sh)", "/opt/app/run.sh"),
    # email
    ("email", "mail ann@acme.io on failure", "ann@acme.io"),
    ("email", "alice.smith+tag@mail.example.co.uk", "alice.smith+tag@mail.example.co.uk"),
    ("email", "<bob_1@x-y.org>", "bob_1@x-y.org"),
    ("email", "git@github.com", "git@github.com"),
    ("email", "contact: ops@acme.com.", "ops@acme.com"),
    ("email", "Ünïcode: jörg@example.de", "jörg@example.de"),
    ("email", "a@b.io, c@d.io", "a@b.io"),
    ("email", "first.last@sub.domain.travel", "first.last@sub.domain.travel"),
    ("email", '{"owner": "ann@acme.io"}', "ann@acme.io"),
    ("email", "x%y@host.net", "x%y@host.net"),
    # secret
    ("secret", "key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
    ("secret", "ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("secret", f"token={GH_TOKEN}", f"token={GH_TOKEN}"),
    ("secret", f"use {GH_TOKEN} to push", GH_TOKEN),
    ("secret", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", None),
    ("secret", "OPENAI sk-proj-abcDEF123456ghiJKL789 leaked", "sk-proj-abcDEF123456ghiJKL789"),
    ("secret", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("secret", "pk_test_TYooMQauvdEDq54NiTphI7jx", "pk_test_TYooMQauvdEDq54NiTphI7jx"),
    ("secret", "xoxb-123456789012-abcdefABCDEF", "xoxb-123456789012-abcdefABCDEF"),
    ("secret", f"jwt {JWT}", JWT),
    ("secret", f"key:\n{PEM}\nend", PEM),
    ("secret", PEM_CUT, PEM_CUT),
    ("secret", "password=hunter2", "password=hunter2"),
    ("secret", 'api_key: "abc123def"', 'api_key: "abc123def"'),
    ("secret", '{"token": "s3cr3t-value"}', 'token": "s3cr3t-value"'),
    ("secret", "Authorization: Bearer xyz", "Authorization: Bearer xyz"),
    ("secret", "DB_PASSWORD=correcthorse", "PASSWORD=correcthorse"),
    ("secret", "dbPassword := 'x9'", "Password := 'x9'"),
    ("secret", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7M", "SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7M"),
    ("secret", "apiKey: 'k-123'", "apiKey: 'k-123'"),
    ("secret", "passwd: hunter2!", "passwd: hunter2!"),
    ("secret", "curl -H 'Bearer 9f8e7d6c5b4a39281706'", "Bearer 9f8e7d6c5b4a39281706"),
    ("secret", "the token ab12cd34ef56ab78cd90ef12 leaked", "token ab12cd34ef56ab78cd90ef12"),
    ("secret", "Secret is Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5", "Secret is Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5"),
    # url
    ("url", "see https://example.com/a?b=1.", "https://example.com/a?b=1"),
    ("url", "http://localhost:8080", "http://localhost:8080"),
    ("url", "ftp://files.acme.io/pub/x.tgz", "ftp://files.acme.io/pub/x.tgz"),
    ("url", "ssh://git@github.com/acme/app.git", "ssh://git@github.com/acme/app.git"),
    ("url", "(https://acme.io/docs)", "https://acme.io/docs"),
    ("url", "postgres://u:p@db:5432/x", "postgres://u:p@db:5432/x"),
    ("url", "file:///etc/hosts", "file:///etc/hosts"),
    ("url", "wss://stream.acme.io/v1", "wss://stream.acme.io/v1"),
    ("url", "link:https://a.io,", "https://a.io"),
    ("url", "HTTPS://ACME.IO/X", "HTTPS://ACME.IO/X"),
    # url_credentials
    ("url_credentials", "https://bob:s3cret@acme.io/x", "https://bob:s3cret@acme.io/x"),
    ("url_credentials", "postgres://admin:pw@db.internal:5432/app", None),
    ("url_credentials", "redis://:topsecret@cache:6379", "redis://:topsecret@cache:6379"),
    ("url_credentials", "git clone https://u:ghp_x@github.com/a/b.git", None),
    ("url_credentials", "ftp://anon:me%40x@ftp.acme.io", "ftp://anon:me%40x@ftp.acme.io"),
    ("url_credentials", "amqp://guest:guest@rabbit", "amqp://guest:guest@rabbit"),
    ("url_credentials", "mongodb+srv://u:p@cluster0.x.net/db?retryWrites=true", None),
    ("url_credentials", "(http://a:b@host)", "http://a:b@host"),
    ("url_credentials", "ssh://root:toor@10.0.0.1:22", "ssh://root:toor@10.0.0.1:22"),
    ("url_credentials", "mysql://user:pa:ss@h/db", None),
    # ip
    ("ip", "host 10.0.0.1 down", "10.0.0.1"),
    ("ip", "192.168.1.254:8080", "192.168.1.254"),
    ("ip", "255.255.255.255", "255.255.255.255"),
    ("ip", "from 8.8.8.8.", "8.8.8.8"),
    ("ip", "10.0.0.0/24", "10.0.0.0"),
    ("ip", "fe80::1", "fe80::1"),
    ("ip", "2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
    ("ip", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    ("ip", "::1", "::1"),
    ("ip", "::ffff:10.0.0.1", "::ffff:10.0.0.1"),
    ("ip", "[2001:db8::1]:443", "2001:db8::1"),
    ("ip", "host=172.16.0.3", "172.16.0.3"),
    # code
    ("code", "def parse_config(path):", "def parse_config(path):"),
    ("code", "    async def run(self) -> None:", "def run(self) -> None:"),
    ("code", "class Foo(Base):", "class Foo(Base):"),
    ("code", "class Foo:", "class Foo:"),
    ("code", "import os", "import os"),
    ("code", "import numpy as np, pandas as pd", "import numpy as np, pandas as pd"),
    ("code", "from os.path import join", "from os.path import join"),
    ("code", "from . import utils", "from . import utils"),
    ("code", "import { x } from './y';", "import { x } from './y';"),
    ("code", "function handle(req, res) {", "function handle(req, res) {"),
    ("code", "    return x", "    return x"),
    ("code", "return self.cache[key]", "return self.cache[key]"),
    ("code", "return;", "return;"),
    ("code", "console.log(x);", "console.log(x);"),
    ("code", "let total = 0", "let total = 0"),
    ("code", "x = foo(1)", "x = foo(1)"),
    ("code", "self.cache = {}", "self.cache = {}"),
    ("code", "items.map(x => x.id)", "x => x.id)"),
    ("code", "const f = (a, b) => a + b;", "const f = (a, b) => a + b;"),
    ("code", "key=lambda x: x[1]", "lambda x: x[1]"),
    ("code", "if x == y:", "if x == y:"),
    ("code", "    for k, v in items.items():", "    for k, v in items.items():"),
    ("code", "except ValueError as exc:", "except ValueError as exc:"),
    ("code", "if (ok) { run(); }", "if (ok) { run(); }"),
    ("code", "x = 1; y = 2;", "x = 1; y = 2;"),
    ("code", "SELECT id, name FROM users WHERE id = 1", "SELECT id, name FROM users WHERE id = 1"),
    ("code", "DROP TABLE users", "DROP TABLE users"),
    ("code", "select * from users", "select * from users"),
    ("code", "INSERT INTO t (a) VALUES (1)", "INSERT INTO t (a) VALUES (1)"),
    ("code", "text\ndef f(x):\n    return x\n", "def f(x):"),
    # timestamp
    ("timestamp", "2026-01-30T16:05:40", "2026-01-30T16:05:40"),
    ("timestamp", "2026-01-30T16:05:40.641272+00:00", "2026-01-30T16:05:40.641272+00:00"),
    ("timestamp", "at 2026-01-30 16:05 UTC", "2026-01-30 16:05 UTC"),
    ("timestamp", "2025-12-18T21:34:06Z", "2025-12-18T21:34:06Z"),
    ("timestamp", "started 16:05:40 local", "16:05:40"),
    ("timestamp", "16:05:40.123", "16:05:40.123"),
    ("timestamp", "9:07:01", "9:07:01"),
    ("timestamp", "meet at 4:05 pm", "4:05 pm"),
    ("timestamp", "11:30am", "11:30am"),
    ("timestamp", "2026-01-30T16:05", "2026-01-30T16:05"),
    ("timestamp", "ran 2026-02-01 00:00:00+0100", "2026-02-01 00:00:00+0100"),
]

NEGATIVES: list[tuple[str, str]] = [
    *[("path", t) for t in (
        "/", "1/2", "and/or", "N/A", "TCP/IP", "24/7", "src/app/main.py",
        ".tapps-agents/capabilities/capabilities.json", "src/**/*.py", "**/*.py", "./run.sh",
        "../lib/x", "2026/01/30", "</div>", "a / b", "~/", "w/o", "http://host",
    )],
    *[("email", t) for t in (
        "user@localhost", "@decorator", "a@b", "x@y.", "name@", "@", "foo@bar.c", "a@@b.com",
        "2 @ 3.5", "code_generation",
    )],
    *[("secret", t) for t in (
        "token_count: 1200", "max_tokens=4096", "Token: the smallest unit", "password", "api_key",
        "key id 3f9a1c2b", "password: <secret>", "password=${DB_PASSWORD}", "token: null",
        "secret hash a3f9c2d1e0b4a7c8", "AKIA", "risk-assessment-long-name-here",
        "sk-learn", "the bearer of bad news", "passwords are hashed", "password_policy: strict",
        "cap_a3f9c2d1e0b4a7c8", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "if password == expected:", "keyboard=us",
    )],
    *[("url", t) for t in (
        "example.com", "www.acme.io", "a://", "mailto:a@b.io", "x:/y", "C://", "see: //x",
        "://host", "urn:isbn:123", "http:/broken",
    )],
    *[("url_credentials", t) for t in (
        "https://example.com/a?x=1", "https://example.com/@user", "https://host:8080/path",
        "https://user@host/x", "https://host/x@y:z", "user:pass@host", "a:b@c",
        "http://h/?u=a:b@c", "ssh://git@github.com/a", "https://acme.io",
    )],
    *[("ip", t) for t in (
        "1.0.0", "3.6.3", "0.85", "1.2.3.4.5", "256.1.1.1", "v1.2.3.4", "pkg==1.2.3.4",
        "01.02.03.04",
        "12:30:45", "::", "00:1a:2b:3c:4d:5e", "std::vector", "Abc::Def", "see section 3.2.1",
        "2026-01-30", "1.2.3",
    )],
    *[("code", t) for t in (
        "use the import button", "the class of problems", "return rate", "Return rate",
        "select the best option from the list", "delete from the list", "drop table rows",
        "for each item in list:", "if you want: yes", "lambda functions: they are cheap",
        "A => B", "score = 0.8", "C++ is fast", "a; b", "(see above)", "key: value",
        "Note: keep it", "function of time", "import", "returns (mostly) fine",
        "Fix bug (urgent)", "file(s) were dropped", "from here to there", "Definition: a thing",
    )],
    *[("timestamp", t) for t in (
        "2026-01-30", "12:30", "1.0.0", "3:1", "2026-13-01T10:00", "2026-01-30T25:00",
        "1:2:3", "10:61:00", "id 12:345:678", "2026-01-30T",
    )],
]

# Strings a legitimate, policy-cleaned export holds: no detector at all may fire.
LEGITIMATE = [
    "code_generation", "code_review", "full-sdlc", "sql-injection", "pattern_learning",
    "prompt_optimization", "feedback_loop", "implementer", "reviewer", "workstation",
    "a3f9c2d1e0b4a7c8", "cap_3f9a1c2b", "cap_a3f9c2d1e0b4a7c8e3b0c44298fc1c14",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "1.0.0", "3.6.3", "0.85", "17", "-0.5", "1e-05", "2026-01-30", "2025-12-18",
    ".tapps-agents/capabilities/capabilities.json", ".tapps-agents/learning/patterns.json",
    "src/**/*.py", "**/*.py", "tests/**/*.py", "func_parse_config_4411", "task_1", "w-123",
    "success", "failure", "partial", "cancelled", "0-10", "10-100", "other", "export-1.0",
    "learning_effectiveness", "usage_patterns", "success_rate", "p95_duration",
    "Code snippets, file paths and free text were dropped; task ids were hashed with a keyed "
    "HMAC (key id 3f9a1c2b).",
    "Anti-pattern: global mutable state in the request handler",
    "Learned to cache config lookups; reduced latency by 30% in review",
    "cache <path> per run", "mail <email> on failure", "<secret>", "<code>", "<url>", "<ip>",
    "<pattern>", "<url_credentials>", "<timestamp>",
]


@pytest.mark.parametrize(("name", "text", "expected"), POSITIVES)
def test_positive(name: str, text: str, expected: str | None) -> None:
    found = [f.text(text) for f in find(text, [name])]
    assert found, f"{name} found nothing in {text!r}"
    if expected is not None:
        assert expected in found


@pytest.mark.parametrize(("name", "text"), NEGATIVES)
def test_negative(name: str, text: str) -> None:
    assert find(text, [name]) == []


@pytest.mark.parametrize("text", LEGITIMATE)
def test_legitimate_export_strings_are_clean(text: str) -> None:
    assert find(text, DETECTORS) == []
    assert first(text) is None
    assert redact(text) == (text, [])


def test_every_detector_has_ten_positives_and_negatives() -> None:
    for name in DETECTORS:
        assert sum(1 for n, _, _ in POSITIVES if n == name) >= 10, name
        assert sum(1 for n, _ in NEGATIVES if n == name) >= 10, name


def test_public_contract() -> None:
    assert list(DETECTORS) == [
        "path", "email", "secret", "url", "url_credentials", "ip", "code", "timestamp",
    ]
    assert REDACT_DEFAULT == ("path", "email", "secret", "url", "ip", "code")
    assert LEAK_DEFAULT == ("path", "email", "secret", "url_credentials", "ip", "code", "timestamp")
    for name, det in DETECTORS.items():
        assert det.name == name and det.description and det.patterns


def test_unknown_detector_suggests_a_name() -> None:
    with pytest.raises(ValueError, match="unknown detector 'emial' \\(did you mean 'email'\\?\\)"):
        find("x", ["emial"])


def test_scanner_ignores_name_order() -> None:
    assert scanner(["email", "path"]).names == ("path", "email")
    assert scanner(("path", "email")) is scanner(("path", "email"))


def test_finding_text() -> None:
    text = "mail ann@acme.io now"
    assert find(text) == [Finding("email", 5, 16)]
    assert find(text)[0].text(text) == "ann@acme.io"


def test_earliest_then_longest_wins() -> None:
    text = "ssh://root:toor@10.0.0.1:22/x"
    assert [f.detector for f in find(text, ["url", "ip", "url_credentials"])] == ["url"]
    # same start, same length: the detector listed first in DETECTORS wins
    assert [f.detector for f in find(text, ["url_credentials", "url"])] == ["url"]


# ---- docs/detectors.md: every example row runs --------------------------------------------
DOC = Path(__file__).resolve().parents[1] / "docs" / "detectors.md"


def _doc_rows() -> list[tuple[str, str, str | None, int]]:
    """``(detector, text, match or None, line)`` for each row of the docs' example tables."""
    rows, name, in_table = [], "", False
    for number, line in enumerate(DOC.read_text("utf-8").splitlines(), start=1):
        if heading := re.fullmatch(r"## `(\w+)`", line):
            name, in_table = heading[1], False
        elif line == "| text | match |":
            in_table = True
        elif in_table and line.startswith("| `"):
            row = re.fullmatch(r"\| `(.*)` \| (?:`(.*)`|—) \|", line)
            assert row, f"{DOC.name}:{number}: unreadable example row"
            rows.append((name, row[1], row[2], number))
        elif not line.startswith("|"):
            in_table = False
    return rows


DOC_ROWS = _doc_rows()


def test_docs_show_examples_of_every_detector() -> None:
    assert {name for name, _, _, _ in DOC_ROWS} == set(DETECTORS)


@pytest.mark.parametrize(("name", "text", "expected", "line"), DOC_ROWS,
                         ids=[f"line{row[3]}" for row in DOC_ROWS])
def test_docs_example(name: str, text: str, expected: str | None, line: int) -> None:
    found = [f.text(text) for f in find(text, [name])]
    if expected is None:
        assert found == [], f"{DOC.name}:{line}: {name} should not match {text!r}"
    else:
        assert expected in found, f"{DOC.name}:{line}: {name} found {found} in {text!r}"


# ---- redact -------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "names", "patterns", "expected", "parts"), [
    ("cache /home/ann/acme/app.db per run", REDACT_DEFAULT, (), "cache <path> per run",
     ["/home/ann/acme/app.db"]),
    ("mail ann@acme.io on failure", REDACT_DEFAULT, (), "mail <email> on failure",
     ["ann@acme.io"]),
    ("why does ACME-4411 fail for bo@x.org", ("email",), (r"ACME-[0-9]+",),
     "why does <pattern> fail for <email>", ["ACME-4411", "bo@x.org"]),
    ("def f(x):\n    return x\nok", REDACT_DEFAULT, (), "<code>\n<code>\nok",
     ["def f(x):", "    return x"]),
    ("at 2026-01-30T16:05:40 from 10.0.0.1", ("timestamp", "ip"), (),
     "at <timestamp> from <ip>", ["2026-01-30T16:05:40", "10.0.0.1"]),
    ("nothing here", REDACT_DEFAULT, (), "nothing here", []),
])
def test_redact_examples(text, names, patterns, expected, parts) -> None:
    compiled = [re.compile(p) for p in patterns]
    assert redact(text, names, compiled) == (expected, parts)


def test_redact_runs_again_when_a_replacement_frees_a_new_match() -> None:
    # "::1" glued to an address is no match until the address becomes "<ip>"
    assert find("10.0.0.1::1", ["ip"]) == [Finding("ip", 0, 8)]
    assert redact("10.0.0.1::1") == ("<ip><ip>", ["10.0.0.1", "::1"])
    # a path glued to a word is relative; once the word is "<email>", it is a path
    assert redact("a@b.io/etc/passwd") == ("<email><path>", ["a@b.io", "/etc/passwd"])


def test_a_single_name_may_be_a_string() -> None:
    assert scanner("email").names == ("email",)


# ---- mask_preview -------------------------------------------------------------------------
def test_mask_preview_examples() -> None:
    assert mask_preview("AKIAIOSFODNN7EXAMPLE") == "AKIA…(20 chars)"
    assert mask_preview("hunter2") == "…(7 chars)"
    assert mask_preview("abcdefgh") == "ab…(8 chars)"
    assert mask_preview("a\nbcdefghijkl", keep=3) == "a?b…(13 chars)"
    assert mask_preview("") == "…(0 chars)"


@given(st.text(min_size=8), st.integers(min_value=-2, max_value=64))
@example("…(11 chars)", 4)
@example("(9 chars)", 4)
def test_mask_preview_never_shows_the_whole_value(value: str, keep: int) -> None:
    assert value not in mask_preview(value, keep)


# ---- properties ---------------------------------------------------------------------------
WORDS = [
    "the", "cache", "was", "dropped", "review", "run", "task", "ids", "hashed", "keyed",
    "HMAC", "code_generation", "full-sdlc", "3.6.3", "2026-01-30", "a3f9c2d1", "0.85",
    "Learned", "retry", "failure", "in", "with", "and", "pattern", "state",
]
prose = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12)
_label = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)
emails = st.builds(
    lambda local, host, tld: f"{'.'.join(local)}@{host}.{tld}",
    st.lists(_label, min_size=1, max_size=3), _label, st.sampled_from(["com", "org", "io", "de"]),
)
posix_paths = st.builds(
    lambda segs, ext: "/" + "/".join(segs) + ext,
    st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True), min_size=1, max_size=5),
    st.sampled_from(["", ".py", ".json", ".db"]),
)
windows_paths = st.builds(
    lambda drive, segs: f"{drive}:\\" + "\\".join(segs),
    st.sampled_from("CDE"), st.lists(_label, min_size=1, max_size=4),
)
home_paths = st.builds(lambda segs: "~/" + "/".join(segs), st.lists(_label, min_size=1, max_size=4))
aws_keys = st.builds(
    lambda p, rest: p + rest, st.sampled_from(["AKIA", "ASIA"]),
    st.from_regex(r"[A-Z0-9]{16}", fullmatch=True),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


jwts = st.builds(
    lambda claims, sig: ".".join([
        _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()),
        _b64(json.dumps(claims).encode()), _b64(sig),
    ]),
    st.dictionaries(_label, _label, min_size=1, max_size=3), st.binary(min_size=16, max_size=32),
)
sensitive = st.one_of(
    emails.map(lambda v: ("email", v)), posix_paths.map(lambda v: ("path", v)),
    windows_paths.map(lambda v: ("path", v)), home_paths.map(lambda v: ("path", v)),
    aws_keys.map(lambda v: ("secret", v)), jwts.map(lambda v: ("secret", v)),
)


@given(prose, sensitive, st.data())
def test_sensitive_value_in_prose_is_found_and_redacted(words, item, data) -> None:
    name, value = item
    at = data.draw(st.integers(min_value=0, max_value=len(words)))
    text = " ".join([*words[:at], value, *words[at:]])
    start = text.index(value)
    findings = find(text, [name])
    assert any(f.start <= start and f.end >= start + len(value) for f in findings), findings
    assert first(text) is not None
    new, parts = redact(text)
    assert value not in new
    assert f"<{name}>" in new


# Fragments that build texts full of near-misses for every detector.
FRAGMENTS = [
    "a", "Z", "0", "7", "255", " ", "\n", "\t", ".", ":", "::", "/", "\\", "@", "=", ";", "(",
    ")", "{", "}", "-", "_", "~", "'", '"', "*", "<", ">", "AKIA", "ghp_", "sk-", "xoxb-", "eyJ",
    "-----BEGIN PRIVATE KEY-----", "password", "Token", "api_key", "Bearer ", "import ",
    "return ", "def ", "class ", "lambda ", "SELECT ", " FROM ", "from ", "=>", "http://",
    "user:pw@", "2026-01-30", "T", "16:05:40", "1.2.3.4", "fe80", "/home", "C:", "example.com",
    "x1y2z3w4v5u6t7s8r9q0", "<path>", "<email>", "pm",
    "١", "٠", "１", "２", "é", "İ", "ſ", "K",  # other scripts' digits, letters that fold
]
texts = st.lists(st.sampled_from(FRAGMENTS), max_size=16).map("".join) | st.text(max_size=40)
name_sets = st.lists(st.sampled_from(list(DETECTORS)), min_size=1, unique=True).map(tuple)
relaxed = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])


@relaxed
@given(texts, name_sets)
def test_find_is_sorted_non_overlapping_and_first_agrees(text: str, names) -> None:
    found = find(text, names)
    for a, b in zip(found, found[1:], strict=False):
        assert a.end <= b.start
    assert all(0 <= f.start < f.end <= len(text) and f.detector in names for f in found)
    assert first(text, names) == (found[0] if found else None)


@relaxed
@given(texts, name_sets)
def test_redact_leaves_nothing_its_detectors_find(text: str, names) -> None:
    new, parts = redact(text, names)
    assert find(new, names) == []
    if not parts:
        assert new == text


@relaxed
@given(texts)
def test_needs_triggers_and_gate_are_necessary_conditions(text: str) -> None:
    _check_prefilters(text)


@pytest.mark.parametrize("text", [t for _, t, _ in POSITIVES])
def test_prefilters_hold_on_every_positive(text: str) -> None:
    _check_prefilters(text)


@pytest.mark.parametrize("text", [
    "x =" + " " * 400 + "y;",  # an assignment's pattern allowed any blanks, its need 310
    "x =" + " " * 9 + "y" * 300 + ";", "x = " + "y" * 301 + ";"])
def test_prefilters_hold_at_the_bounds(text: str) -> None:
    """Found by a review: long blank runs the random texts never reach."""
    _check_prefilters(text)


def _check_prefilters(text: str) -> None:
    gate = scanner(tuple(DETECTORS)).gate
    for det in DETECTORS.values():
        anchors = [a.encode() for a in det.anchors]
        for need, pattern in zip(det.needs, det.patterns, strict=True):
            if pattern.search(text):
                assert detectors._passes(text, text.lower(), need), (det.name, pattern.pattern[:60])
                assert det.trigger.search(text), det.name
                assert gate.search(text), det.name
            for match in pattern.finditer(text):  # an anchor inside every match, ASCII-folded
                matched = match.group().encode("utf-8", "surrogatepass").lower()
                if matched.isascii():
                    assert any(a in matched for a in anchors), (det.name, match.group())
                else:  # what the leak scan looks for (ip's \d takes every script's digits)
                    assert any(a in matched for a in leakscan.ANCHORS), (det.name, match.group())


def test_anchors_are_lower_case_ascii_literals() -> None:
    for det in DETECTORS.values():
        assert det.anchors and all(a.isascii() and a == a.lower() for a in det.anchors)
