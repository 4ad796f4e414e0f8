"""A corpus of broken policies and documents, each run through the installed command.

Every one must exit with its documented code, print one paragraph on stderr that starts
``learnexport: ``, names the file (with line:column where there is one) and says what to
do, show no traceback, and write nothing: no output file, no temporary file left behind.
The runs are independent processes, so they run a few at a time.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_VENV_COMMAND = REPO / ".venv" / "bin" / "learnexport"
COMMAND = str(_VENV_COMMAND) if _VENV_COMMAND.exists() else shutil.which("learnexport")

HEAD = "policy: t\nversion: 1.0.0\nunmatched: keep\n"
GOOD_RULES = "rules:\n  - id: keep-ids\n    select: memory[*].task_id\n    action: keep\n"
GOOD_POLICY = HEAD + GOOD_RULES
GOOD_DOC = json.dumps({"memory": [{"task_id": "task_1", "outcome": "success", "score": 0.5}]})
APPLY = ("apply", "--policy", "p.yaml", "d.json", "-o", "out.json")
KEY_HEX = "5d41402abc4b2a76b9719d911017c592aa" * 2
LARGE_POLICY = GOOD_POLICY + "#" + "x" * 1_000_001 + "\n"


def rule(body: str, rule_id: str = "r") -> str:
    """A policy with one rule: ``id`` on line 5, the rest of ``body`` from line 6."""
    lines = "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    return f"{HEAD}rules:\n  - id: {rule_id}\n{lines}"


@dataclass(frozen=True)
class Bad:
    name: str
    files: dict[str, str | bytes | None] = field(default_factory=dict)  # None: a folder
    args: tuple[str, ...] = APPLY
    code: int = 1
    first: str | None = None  # the exact first line of stderr
    first_re: str | None = None  # or a pattern it must match
    names: str = "p.yaml"  # the file the first line must name
    hint: str | None = None  # words of the "what to do" part
    modes: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n" + GOOD_POLICY


CASES = [
    # ---- YAML that does not load --------------------------------------------------------
    Bad("malformed-yaml", {"p.yaml": "policy: t\nversion: 1.0.0\nrules: [\n"},
        first="learnexport: p.yaml:4:1: not valid YAML: expected the node content, but found "
              "'<stream end>'. Check the indentation and quoting around this place"),
    Bad("tab-indentation", {"p.yaml": "policy: t\n\tversion: 1.0.0\n"},
        first_re=r"learnexport: p\.yaml:2:1: not valid YAML: .*", hint="indentation"),
    Bad("duplicate-yaml-keys", {"p.yaml": "policy: t\npolicy: u\nversion: 1.0.0\nrules: []\n"},
        first="learnexport: p.yaml:2:1: duplicate key 'policy'. Remove one of the two; YAML "
              "would silently keep the last"),
    Bad("multiple-documents", {"p.yaml": GOOD_POLICY + "---\npolicy: u\n"},
        first="learnexport: p.yaml:9:1: more than one YAML document (a second '---'). Keep one "
              "document per file"),
    Bad("alias-bomb", {"p.yaml": _bomb()},
        first_re=r"learnexport: p\.yaml:\d+:\d+: expands to more than 200000 values \(an alias "
                 r"bomb\?\)\. Remove the anchors and aliases"),
    Bad("deep-policy", {"p.yaml": GOOD_POLICY + "description: " + "[" * 10000 + "]" * 10000},
        first_re=r"learnexport: p\.yaml(:\d+:\d+)?: nested too deeply to read\. Keep nesting "
                 r"to 200 levels at most"),
    Bad("non-utf8-policy", {"p.yaml": HEAD.encode() + b"description: caf\xe9\n" +
                            GOOD_RULES.encode()},
        first="learnexport: p.yaml:4: not UTF-8 text (byte 0xe9 at offset 57). Save the file "
              "as UTF-8"),
    Bad("empty-policy", {"p.yaml": ""},
        first_re=r"learnexport: p\.yaml:1:1: a policy is a YAML mapping, and this file holds "
                 r"nothing\. .*", hint="policy, version and rules are required"),
    Bad("policy-is-a-list", {"p.yaml": "- policy: t\n"},
        first_re=r"learnexport: p\.yaml:1:1: a policy is a YAML mapping, and this file holds "
                 r"(a )?list\. .*"),
    Bad("policy-too-large", {"p.yaml": LARGE_POLICY},
        first=f"learnexport: p.yaml: is {len(LARGE_POLICY)} bytes; a policy is at most 1000000. "
              "Is this the right file?"),
    # ---- wrong types and values for the top-level keys -----------------------------------
    Bad("policy-id-number", {"p.yaml": GOOD_POLICY.replace("policy: t", "policy: 5")},
        first_re=r"learnexport: p\.yaml:1:9: must be text, not a number\. \S.*"),
    Bad("version-unquoted-float", {"p.yaml": GOOD_POLICY.replace("1.0.0", "1.0")},
        first_re=r"learnexport: p\.yaml:2:10: must be text, not a number\. \S.*"),
    Bad("description-list", {"p.yaml": HEAD + "description: [a]\n" + GOOD_RULES},
        first_re=r"learnexport: p\.yaml:4:14: must be text, not a list\. \S.*"),
    Bad("schema-number", {"p.yaml": HEAD + "schema: 5\n" + GOOD_RULES},
        first_re=r"learnexport: p\.yaml:4:9: must be text, not a number\. \S.*"),
    Bad("unmatched-misspelt", {"p.yaml": GOOD_POLICY.replace("unmatched: keep", "unmatched: dorp")},
        first="learnexport: p.yaml:3:12: 'dorp' is not allowed (did you mean 'drop'?). Use one "
              "of: drop, error, keep"),
    Bad("hash-not-a-mapping", {"p.yaml": HEAD + "hash: sha256\n" + GOOD_RULES},
        first_re=r"learnexport: p\.yaml:4:7: must be an object, not text\. \S.*"),
    Bad("hash-length-text", {"p.yaml": HEAD + "hash: {length: '16'}\n" + GOOD_RULES},
        first_re=r"learnexport: p\.yaml:4:16: must be an integer, not text\. \S.*"),
    Bad("hash-length-too-large", {"p.yaml": HEAD + "hash: {length: 100}\n" + GOOD_RULES},
        first_re=r"learnexport: p\.yaml:4:16: must be at most 64, not 100\. \S.*"),
    Bad("hash-key-bad-source", {"p.yaml": HEAD + "hash: {key: KEY}\n" + GOOD_RULES},
        first="learnexport: p.yaml:4:13: 'KEY' is not a key source. Write env:NAME or file:PATH"),
    Bad("unknown-hash-option", {"p.yaml": HEAD + "hash: {lenght: 12}\n" + GOOD_RULES},
        first="learnexport: p.yaml:4:8: unknown key 'lenght' (did you mean 'length'?). Remove "
              "it; allowed here: key, length"),
    Bad("stamp-not-dotted", {"p.yaml": HEAD + "stamp: 'a b'\n" + GOOD_RULES},
        first="learnexport: p.yaml:4:8: 'a b' is not a dotted location. Write where the run's "
              "metadata goes, e.g. export_metadata"),
    Bad("rules-a-mapping", {"p.yaml": HEAD + "rules: {}\n"},
        first_re=r"learnexport: p\.yaml:4:8: must be a list, not an object\. \S.*"),
    Bad("rules-missing", {"p.yaml": HEAD},
        first="learnexport: p.yaml:1:1: missing required key 'rules'. Add it"),
    Bad("rule-not-a-mapping", {"p.yaml": HEAD + "rules: [5]\n"},
        first_re=r"learnexport: p\.yaml:4:9: must be an object, not a number\. \S.*"),
    Bad("rule-without-select", {"p.yaml": HEAD + "rules:\n  - id: r\n    action: keep\n"},
        first="learnexport: p.yaml:5:5: rule \"r\": missing required key 'select'. Add it"),
    Bad("unknown-top-level-key", {"p.yaml": GOOD_POLICY + "rulez: []\n"},
        first="learnexport: p.yaml:8:1: unknown key 'rulez' (did you mean 'rules'?). Remove it; "
              "allowed here: allow, description, hash, policy, rules, schema, stamp, unmatched, "
              "version",
        ),
    Bad("bad-semantic-version", {"p.yaml": GOOD_POLICY.replace("1.0.0", "'1.0'")},
        first="learnexport: p.yaml:2:10: '1.0' is not a semantic version. Write MAJOR.MINOR.PATCH "
              'in quotes, e.g. "1.0.0"'),
    Bad("bad-policy-id", {"p.yaml": GOOD_POLICY.replace("policy: t", "policy: My Policy")},
        first="learnexport: p.yaml:1:9: 'My Policy' is not a valid policy id. Use lowercase "
              "letters, digits and '-', e.g. default or team-export"),
    Bad("unknown-schema", {"p.yaml": HEAD + "schema: no-such-schema\n" + GOOD_RULES},
        first_re=r"learnexport: p\.yaml:4:9: unknown schema 'no-such-schema'.*"),
    # ---- rules ---------------------------------------------------------------------------
    Bad("unknown-action", {"p.yaml": rule("select: memory[*].task_id\naction: hsh")},
        first="learnexport: p.yaml:7:13: rule \"r\": unknown action 'hsh' (did you mean "
              "'hash'?). Use one of: keep, drop, hash, round, generalize, replace, mask, redact, "
              "aggregate"),
    Bad("allow-reason-too-short", {"p.yaml": HEAD + "allow:\n  - {detector: email, path: "
                                              "'memory[*].who', reason: test}\n" + GOOD_RULES},
        first="learnexport: p.yaml:5:54: 'test' is too short for a reason (4 characters; at "
              "least 10). Say why this detector is wrong for this path; auditors read it"),
    Bad("unknown-option", {"p.yaml": rule("select: memory[*].task_id\naction: hash\nlenght: 8")},
        first="learnexport: p.yaml:8:5: rule \"r\": unknown option 'lenght' for action hash (did "
              "you mean 'length'?). The options of hash are length, prefix"),
    Bad("duplicate-rule-ids", {"p.yaml": GOOD_POLICY + "  - id: keep-ids\n"
                               "    select: memory[*].outcome\n    action: keep\n"},
        first="learnexport: p.yaml:8:9: rule \"keep-ids\": duplicate rule id 'keep-ids' (first "
              "used on line 5). Give each rule its own id"),
    Bad("bad-rule-id", {"p.yaml": rule("select: a\naction: keep", rule_id="'bad id!'")},
        first="learnexport: p.yaml:5:9: rule \"bad id!\": 'bad id!' is not a valid rule id. Use "
              "letters, digits, '-', '_' and '.'"),
    Bad("round-digits-and-to", {"p.yaml": rule("select: memory[*].score\naction: round\n"
                                               "digits: 2\nto: day")},
        first="learnexport: p.yaml:7:13: rule \"r\": round needs exactly one of digits, step and "
              "to; it has digits, to. Write digits: 2 for numbers, step: 5 for multiples, or to: "
              "day for "
              "timestamps"),
    Bad("bucket-without-bounds", {"p.yaml": rule("select: memory[*].score\naction: generalize\n"
                                                 "as: bucket")},
        first="learnexport: p.yaml:5:5: rule \"r\": as: bucket needs 'bounds'. "
              "Add bounds: [1, 5, 10]"),
    Bad("redact-invalid-regex", {"p.yaml": rule("select: memory[*].outcome\naction: redact\n"
                                                "patterns: ['(unclosed']")},
        first="learnexport: p.yaml:8:5: rule \"r\": pattern '(unclosed' is not a regular "
              "expression: missing ), unterminated subpattern at position 0. Write Python regular "
              "expressions; escape a literal '.' as '\\.'"),
    Bad("hash-length-in-rule-too-small", {"p.yaml": rule("select: a\naction: hash\nlength: 4")},
        first_re=r"learnexport: p\.yaml:8:13: rule \"r\": must be at least 8, not 4\. \S.*"),
    # ---- selectors -----------------------------------------------------------------------
    Bad("invalid-jmespath", {"p.yaml": rule("select: memory[*.task_id\naction: keep")},
        first="learnexport: p.yaml:6:21: rule \"r\": selector 'memory[*.task_id': invalid "
              "JMESPath near '.' (column 9 of the selector). Check the brackets and quotes (odd "
              "keys are written \"odd key\")"),
    Bad("selector-function", {"p.yaml": rule("select: length(memory)\naction: keep")},
        first="learnexport: p.yaml:6:13: rule \"r\": selector 'length(memory)': a function call "
              "'length()' computes a value instead of naming a location. A selector may use "
              "fields, [n], [*], .*, [], slices and [?filter]; move computations into a filter, "
              "e.g. items[?length(tags) > `0`]"),
    Bad("selector-pipe", {"p.yaml": rule("select: memory | [0]\naction: keep")},
        first_re=r"learnexport: p\.yaml:6:13: rule \"r\": selector 'memory \| \[0\]': a pipe '\|' "
                 r"computes a value instead of naming a location\. A selector may use .*"),
    Bad("selector-multiselect", {"p.yaml": rule("select: 'memory[*].[task_id, score]'\n"
                                                "action: keep")},
        first_re=r"learnexport: p\.yaml:6:13: rule \"r\": selector 'memory\[\*\]\.\[task_id, "
                 r"score\]': a multiselect list '\[a, b\]' computes a value .*"),
    Bad("selector-literal", {"p.yaml": rule("select: '`1`'\naction: keep")},
        first_re=r"learnexport: p\.yaml:6:13: rule \"r\": selector '`1`': a literal computes a "
                 r"value instead of naming a location\..*"),
    Bad("selector-or", {"p.yaml": rule("select: a || b\naction: keep")},
        first_re=r"learnexport: p\.yaml:6:13: rule \"r\": selector 'a \|\| b': an '\|\|' "
                 r"expression computes a value instead of naming a location\..*"),
    Bad("selector-and-not-expref", {"p.yaml": HEAD + "rules:\n"
                                    "  - {id: r1, select: 'a && b', action: keep}\n"
                                    "  - {id: r2, select: '!a', action: keep}\n"
                                    "  - {id: r3, select: '&a', action: keep}\n"},
        first_re=r"learnexport: p\.yaml:5:22: rule \"r1\": selector 'a && b': an '&&' expression "
                 r"computes a value instead of naming a location\..*", hint="'&'"),
    Bad("selector-zero-step", {"p.yaml": rule("select: 'memory[::0]'\naction: keep")},
        first_re=r"learnexport: p\.yaml:6:\d+: rule \"r\": selector 'memory\[::0\]': .*step.*"),
    # ---- documents -----------------------------------------------------------------------
    Bad("deep-document", {"d.json": "[" * 10000 + "]" * 10000}, names="d.json",
        first="learnexport: d.json: nested too deeply (more than 200 levels). Keep nesting "
              "to 200 levels at most (JSON and YAML alike)"),
    # orjson reads 1,000 levels and json about 990: once an internal error when written
    Bad("deep-document-orjson-reads", {"d.json": '{"memory": ' + "[" * 990 + "]" * 990 + "}"},
        names="d.json", first="learnexport: d.json: nested too deeply (more than 200 levels). Keep "
                              "nesting to 200 levels at most (JSON and YAML alike)"),
    Bad("deep-document-201", {"d.json": "[" * 201 + "]" * 201}, names="d.json",
        first="learnexport: d.json: nested too deeply (more than 200 levels). Keep nesting "
              "to 200 levels at most (JSON and YAML alike)"),
    Bad("non-utf8-document", {"d.json": b'{"memory": "caf\xe9"}'}, names="d.json",
        first="learnexport: d.json: not UTF-8 text (byte at offset 15). Save it as UTF-8 JSON"),
    Bad("empty-document", {"d.json": ""}, names="d.json",
        first="learnexport: d.json: is empty. Give a JSON or YAML document"),
    Bad("json-nan", {"d.json": '{"memory": [],\n "score": NaN}'}, names="d.json",
        first_re=r"learnexport: d\.json:2:\d+: not valid JSON: NaN is not JSON\..*"),
    Bad("json-duplicate-keys", {"d.json": '{"memory": [],\n "memory": []}'}, names="d.json",
        first_re=r"learnexport: d\.json:2:\d+: not valid JSON: duplicate key 'memory'\..*"),
    Bad("json-trailing-garbage", {"d.json": GOOD_DOC + "\n}garbage"}, names="d.json",
        first="learnexport: d.json:2:1: not valid JSON: Extra data. Fix the file, or check that "
              "it is the right one"),
    Bad("json-truncated", {"d.json": '{"memory": [1,'}, names="d.json",
        first_re=r"learnexport: d\.json:1:15: not valid JSON: .*"),
    Bad("gzip-that-is-not", {"d.json.gz": GOOD_DOC}, names="d.json.gz",
        args=("apply", "--policy", "p.yaml", "d.json.gz", "-o", "out.json"),
        first_re=r"learnexport: d\.json\.gz: not a valid gzip file: .*"),
    Bad("yaml-document-duplicate-key", {"d.yaml": "memory: []\nmemory: []\n"}, names="d.yaml",
        args=("apply", "--policy", "p.yaml", "d.yaml", "-o", "out.json"),
        first="learnexport: d.yaml:2:1: duplicate key 'memory'. Remove one of the two; YAML "
              "would silently keep the last"),
    # ---- files that are not there or not files -------------------------------------------
    Bad("policy-is-a-folder", {"p.yaml": None},
        first="learnexport: p.yaml: is a folder, not a policy file. Name the .yaml file inside "
              "it"),
    Bad("document-is-a-folder", {"d.json": None}, names="d.json",
        first="learnexport: d.json: is a folder, not a document. Name a .json or .yaml file (for "
              "a project, use export)"),
    Bad("missing-policy", {}, args=("apply", "--policy", "nope.yaml", "d.json", "-o", "out.json"),
        names="nope.yaml",
        first="learnexport: nope.yaml: no such policy file. Check the path; shipped policies are "
              "in policies/"),
    Bad("missing-document", {}, args=("apply", "--policy", "p.yaml", "nope.json", "-o",
                                      "out.json"),
        names="nope.json", first="learnexport: nope.json: no such file. Check the path"),
    Bad("output-is-a-folder", {"out.json": None}, names="out.json",
        first_re=r"learnexport: out\.json: is a folder\. Name a file to write"),
    Bad("output-folder-missing", {}, args=("apply", "--policy", "p.yaml", "d.json", "-o",
                                           "no/such/out.json"),
        names="no/such/out.json",
        first="learnexport: no/such/out.json: the folder does not exist; nothing was written. "
              "Create it first: mkdir -p no/such"),
    # ---- hash keys -----------------------------------------------------------------------
    Bad("hash-without-a-key", {"p.yaml": rule("select: memory[*].task_id\naction: hash")},
        first="learnexport: p.yaml:5:5: rule \"r\": this policy hashes values but no hash key was "
              "given. Set hash.key in the policy (env:NAME or file:PATH), pass --hash-key-file "
              "FILE, or create one with: learnexport key new FILE"),
    Bad("hash-key-variable-unset",
        {"p.yaml": HEAD + "hash: {key: 'env:LEARNEXPORT_TEST_UNSET'}\nrules:\n"
                          "  - {id: r, select: 'memory[*].task_id', action: hash}\n"},
        first_re=r"learnexport: p\.yaml:4:13: the hash key variable LEARNEXPORT_TEST_UNSET is not "
                 r"set\. .*", hint="export LEARNEXPORT_TEST_UNSET="),
    Bad("key-file-world-readable", {"key": KEY_HEX}, modes={"key": 0o644}, names="key",
        args=(*APPLY, "--hash-key-file", "key"),
        first="learnexport: key: the hash key file can be read by others (mode 0644). Make it "
              "private: chmod 600 key"),
    Bad("policy-key-file-group-readable",
        {"k.hex": KEY_HEX,
         "p.yaml": HEAD + "hash: {key: 'file:k.hex'}\n" + GOOD_RULES},
        modes={"k.hex": 0o640}, names="k.hex",
        first_re=r"learnexport: (\S*/)?k\.hex: the hash key file can be read by others \(mode "
                 r"0640\)\. Make it private: chmod 600 (\S*/)?k\.hex"),
    Bad("key-file-missing", {}, args=(*APPLY, "--hash-key-file", "none.key"), names="none.key",
        first="learnexport: none.key: no such hash key file. Create one with: learnexport key new "
              "none.key"),
    Bad("key-file-too-short", {"short.key": "abc"}, modes={"short.key": 0o600},
        args=(*APPLY, "--hash-key-file", "short.key"), names="short.key",
        first_re=r"learnexport: the hash key from file:short\.key is 3 bytes; at least 16 are "
                 r"needed\. .*"),
    # ---- applying ------------------------------------------------------------------------
    Bad("unmatched-error-with-uncovered-paths",
        {"p.yaml": GOOD_POLICY.replace("unmatched: keep", "unmatched: error")},
        first_re=r"learnexport: p\.yaml:3:12: 2 uncovered path\(s\) with unmatched: error: "
                 r"memory\[\*\]\.outcome, memory\[\*\]\.score\. .*"),
    Bad("round-on-text", {"p.yaml": rule("select: memory[*].task_id\naction: round\ndigits: 2")},
        first="learnexport: p.yaml:5:5: rule \"r\": at memory[0].task_id: round needs a number, "
              "and this is text that is no number. Narrow the selector to numeric fields, e.g. "
              "with a filter [?type(x) == 'number']"),
    Bad("mask-on-object", {"p.yaml": rule("select: memory[0]\naction: mask")},
        first="learnexport: p.yaml:5:5: rule \"r\": at memory[0]: mask applies to text or "
              "numbers, and this is an object. Select the text fields inside it, or use drop or "
              "hash"),
]


@dataclass
class Ran:
    folder: Path
    before: set[str]
    after: set[str]
    code: int
    stdout: bytes
    stderr: str


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _prepare(case: Bad, folder: Path) -> None:
    files: dict[str, str | bytes | None] = {"p.yaml": GOOD_POLICY, "d.json": GOOD_DOC,
                                            **case.files}
    for name, content in files.items():
        path = folder / name
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for name, mode in case.modes.items():
        os.chmod(folder / name, mode)


def _run(case: Bad, folder: Path) -> Ran:
    _prepare(case, folder)
    before = _listing(folder)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEARNEXPORT_")}
    env.update(case.env)
    done = subprocess.run([COMMAND, *case.args], cwd=folder, env=env, capture_output=True,
                          timeout=60)
    return Ran(folder, before, _listing(folder), done.returncode, done.stdout,
               done.stderr.decode("utf-8", "replace"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    assert COMMAND, "the learnexport command is not installed"
    folders = {case.name: tmp_path_factory.mktemp(case.name) for case in CASES}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {case.name: pool.submit(_run, case, folders[case.name]) for case in CASES}
        return {name: future.result() for name, future in futures.items()}


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Bad, runs: dict[str, Ran]) -> None:
    ran = runs[case.name]
    first = ran.stderr.split("\n", 1)[0]
    # one paragraph, ours, no traceback
    assert ran.stderr.startswith("learnexport: "), ran.stderr
    assert "Traceback" not in ran.stderr
    assert "internal error" not in ran.stderr, ran.stderr
    assert ran.stderr.endswith("\n") and "\n\n" not in ran.stderr, ran.stderr
    lines = ran.stderr.removeprefix("learnexport: ").splitlines()
    assert len(lines) == len(set(lines)), f"a problem is reported twice:\n{ran.stderr}"
    assert ran.code == case.code, ran.stderr
    # what it says
    if case.first is not None:
        assert first == case.first
    if case.first_re is not None:
        assert re.fullmatch(case.first_re, first), first
    assert case.names in first, first
    if case.hint is not None:
        assert case.hint in ran.stderr
    # nothing written: no output, nothing new in the folder (no stray .part files)
    assert ran.stdout == b""
    assert not (ran.folder / "out.json").is_file()
    assert ran.after == ran.before


def test_a_document_nested_200_levels_is_read_and_written(tmp_path: Path) -> None:
    # the limit is MAX_DEPTH, the same for JSON and YAML: 200 levels pass, 201 do not
    (tmp_path / "p.yaml").write_text(GOOD_POLICY, encoding="utf-8")
    (tmp_path / "d.json").write_text("[" * 200 + "]" * 200, encoding="utf-8")
    done = subprocess.run([COMMAND, "apply", "--policy", "p.yaml", "d.json", "--compact"],
                          cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"[" * 200 + b"]" * 200 + b"\n"


def test_gzip_corpus_input_is_really_gzip() -> None:
    # guard for the corpus itself: the "gzip-that-is-not" case must hold plain text
    (case,) = [c for c in CASES if c.name == "gzip-that-is-not"]
    content = case.files["d.json.gz"]
    assert isinstance(content, str)
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(content.encode())


def test_an_out_of_range_number_is_placed_where_it_stands(tmp_path: Path) -> None:
    """From a review: the position of 1e400 was that of its first occurrence, even inside
    a string ("1e400" as text); it is the number's own."""
    from learnexport.docio import parse_json
    from learnexport.errors import InputError

    with pytest.raises(InputError) as caught:
        parse_json('{"s": "1e400",\n "n": 1e400}', "d.json")
    assert (caught.value.location.line, caught.value.location.column) == (2, 7)


@pytest.mark.parametrize("name", ["d.YAML", "d.Yml", "d.YAML.gz"])
def test_a_yaml_name_in_capitals_is_read_as_yaml(tmp_path: Path, name: str) -> None:
    """From a review: gzip names were matched without case, YAML names with: d.YAML was
    parsed as JSON ("not valid JSON: Expecting value")."""
    from learnexport.docio import read_document

    data = b"a: 1\nb: [x, y]\n"
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert read_document(str(tmp_path / name)) == {"a": 1, "b": ["x", "y"]}
