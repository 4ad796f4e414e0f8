"""Every action in ``REGISTRY``: values of every kind, errors that name rule and path, the
YAML case files in ``tests/cases/``, and agreement of registry, modules and docs."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import learnexport.actions as actions_package
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from learnexport.actions import REGISTRY
from learnexport.applier import Result, apply_policy
from learnexport.cases import run_case
from learnexport.errors import ApplyError, LearnexportError, PolicyError
from learnexport.policy import Policy, parse_policy

REPO = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
KEY = b"docs-example-key"


def policy_for(*rules: dict[str, Any], unmatched: str = "keep") -> Policy:
    """A policy file ``p.yaml`` whose first rule starts on line 5, column 5."""
    text = f"policy: t\nversion: 1.0.0\nunmatched: {unmatched}\nrules:\n"
    for rule in rules:
        body = yaml.safe_dump(rule, sort_keys=False, width=1000, allow_unicode=True)
        text += "  - " + body.rstrip("\n").replace("\n", "\n    ") + "\n"
    return parse_policy(text, "p.yaml")


def apply_rule(rule: dict[str, Any], doc: Any, *, unmatched: str = "keep",
               key: bytes | None = KEY) -> Result:
    return apply_policy(policy_for({"id": "r", **rule}, unmatched=unmatched), doc, key=key)


def apply_error(rule: dict[str, Any], doc: Any, **kwargs: Any) -> ApplyError:
    with pytest.raises(ApplyError) as caught:
        apply_rule(rule, doc, **kwargs)
    return caught.value


def hmac_hex(text: str, key: bytes = KEY, length: int = 16) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:length]


# ---- keep ---------------------------------------------------------------------------------

def test_keep_leaves_values_and_subtrees_alone() -> None:
    doc = {"a": {"b": [1, {"c": None}], "d": "x"}, "n": None, "z": 1}
    result = apply_rule({"select": "a", "action": "keep"}, doc, unmatched="drop")
    assert result.document == {"a": {"b": [1, {"c": None}], "d": "x"}}
    assert result.tainted == set()
    report = result.report.rules[0]
    assert (report.matched, report.changed, report.dropped) == (1, 0, 0)


def test_keep_covers_a_null_value() -> None:
    result = apply_rule({"select": "n", "action": "keep"}, {"n": None, "z": 1},
                        unmatched="drop")
    assert result.document == {"n": None}


# ---- drop ---------------------------------------------------------------------------------

def test_drop_removes_keys_and_list_elements_without_tainting() -> None:
    doc = {"m": [{"t": 1, "c": "ctx"}, {"t": 2, "c": None}], "l": [1, 2, 3, 4]}
    result = apply_rule({"select": "m[*].c", "action": "drop"}, doc)
    assert result.document == {"m": [{"t": 1}, {"t": 2}], "l": [1, 2, 3, 4]}
    assert result.tainted == set()
    assert result.report.rules[0].dropped == 2
    result = apply_rule({"select": "l[1:3]", "action": "drop"}, doc)
    assert result.document["l"] == [1, 4]


def test_drop_of_the_root_leaves_an_empty_object() -> None:
    assert apply_rule({"select": "@", "action": "drop"}, {"a": 1}).document == {}


# ---- hash ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("task_1", "task_1"),
        ("1", "1"),
        (1, "1"),
        (-2.5, "-2.5"),
        (True, "true"),
        (False, "false"),
        ({"b": 1, "a": [1, None]}, '{"a":[1,null],"b":1}'),
        ([1, "a", {"z": 0, "y": "é"}], '[1,"a",{"y":"é","z":0}]'),
        ("", ""),
    ],
)
def test_hash_is_hmac_of_text_or_compact_json(value: Any, text: str) -> None:
    result = apply_rule({"select": "v", "action": "hash"}, {"v": value})
    assert result.document == {"v": hmac_hex(text)}
    assert result.report.rules[0].changed == 1


def test_hash_keeps_null() -> None:
    result = apply_rule({"select": "v", "action": "hash"}, {"v": None})
    assert result.document == {"v": None}
    assert result.report.rules[0].changed == 0


def test_hash_length_prefix_and_policy_length() -> None:
    result = apply_rule({"select": "v", "action": "hash", "length": 40, "prefix": "cap_"},
                        {"v": "code_review"})
    assert result.document == {"v": "cap_" + hmac_hex("code_review", length=40)}
    text = ("policy: t\nversion: 1.0.0\nunmatched: keep\nhash: {length: 24}\nrules:\n"
            "  - {id: r, select: v, action: hash}\n")
    policy = parse_policy(text, "p.yaml")
    assert apply_policy(policy, {"v": "x"}, key=KEY).document == {"v": hmac_hex("x", length=24)}


def test_hash_taints_the_original_value() -> None:
    result = apply_rule({"select": "v[*]", "action": "hash"}, {"v": ["task_1", 7]})
    assert {"task_1", "7"} <= result.tainted


def test_hash_without_a_key_names_the_rule() -> None:
    error = apply_error({"select": "v", "action": "hash"}, {"v": "x"}, key=None)
    assert error.rule == "r"
    assert error.render() == (
        'p.yaml:5:5: rule "r": this policy hashes values but no hash key was given. Set '
        "hash.key in the policy (env:NAME or file:PATH), pass --hash-key-file FILE, or "
        "create one with: learnexport key new FILE"
    )


# ---- round --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("options", "value", "expected"),
    [
        ({"digits": 2}, 0.5321, 0.53),
        ({"digits": 2}, "0.8788", "0.88"),
        ({"digits": 0}, 41.6, 42),
        ({"digits": 3}, 7, 7),
        ({"step": 5}, 61.7, 60),
        ({"step": 5}, "63", "65"),
        ({"step": 0.5}, 1.3, 1.5),
        ({"to": "day"}, "2026-01-30T16:05:40.641272", "2026-01-30"),
        ({"to": "day"}, "2026-02-01T23:59:59+05:00", "2026-02-01"),
        ({"to": "hour"}, "2026-01-30T16:05:40Z", "2026-01-30T16:00"),
        ({"to": "week"}, "2025-12-18T21:34:06.726399+00:00", "2025-12-15"),
        ({"to": "month"}, "2026-01-30", "2026-01"),
        ({"digits": 2}, None, None),
        ({"to": "day"}, None, None),
    ],
)
def test_round(options: dict[str, Any], value: Any, expected: Any) -> None:
    result = apply_rule({"select": "v", "action": "round", **options}, {"v": value})
    got = result.document["v"]
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("options", "value", "message"),
    [
        ({"digits": 2}, "high", "round needs a number, and this is text that is no number"),
        ({"digits": 2}, True, "round needs a number, and this is a boolean"),
        ({"step": 5}, [1, 2], "round needs a number, and this is a list"),
        ({"step": 5}, "NaN", "round needs a number, and this is text that is no number"),
        ({"to": "day"}, 1700000000,
         "round to: day needs an ISO 8601 timestamp, and this is a number"),
        ({"to": "week"}, "yesterday",
         "round to: week needs an ISO 8601 timestamp, and this is text that is no timestamp"),
        ({"to": "month"}, {"at": "2026-01-01"},
         "round to: month needs an ISO 8601 timestamp, and this is an object"),
    ],
)
def test_round_wrong_types_name_rule_and_path(options: dict[str, Any], value: Any,
                                              message: str) -> None:
    error = apply_error({"select": "m[*].v", "action": "round", **options},
                        {"m": [{"v": None}, {"v": value}]})
    assert (error.rule, error.path) == ("r", "m[1].v")
    assert error.render().startswith(f'p.yaml:5:5: rule "r": at m[1].v: {message}. ')


def test_round_on_text_full_message() -> None:
    error = apply_error({"select": "task", "action": "round", "digits": 2}, {"task": "t_1"})
    assert error.render() == (
        'p.yaml:5:5: rule "r": at task: round needs a number, and this is text that is no '
        "number. Narrow the selector to numeric fields, e.g. with a filter "
        "[?type(x) == 'number']"
    )


# ---- generalize ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("options", "value", "expected"),
    [
        ({"as": "path"}, "/home/a/p/src/app/x.py", "src/**/*.py"),
        ({"as": "path"}, "/home/a/p/src/x.py", "src/*.py"),
        ({"as": "path"}, "/home/a/p/x.py", "**/*.py"),
        ({"as": "path"}, "Makefile", "*"),
        ({"as": "path"}, "", "*"),
        ({"as": "bucket", "bounds": [1, 5, 10]}, 0, "<1"),
        ({"as": "bucket", "bounds": [1, 5, 10]}, 5, "5-10"),
        ({"as": "bucket", "bounds": [1, 5, 10]}, "12", "10+"),
        ({"as": "bucket", "bounds": [0.5]}, 0.5, "0.5+"),
        ({"as": "category", "allow": ["a", "b"]}, "b", "b"),
        ({"as": "category", "allow": ["a", "b"]}, "c", "other"),
        ({"as": "category", "allow": ["a"], "other": "misc"}, 3, "misc"),
        ({"as": "path"}, None, None),
        ({"as": "bucket", "bounds": [1]}, None, None),
    ],
)
def test_generalize(options: dict[str, Any], value: Any, expected: Any) -> None:
    result = apply_rule({"select": "v", "action": "generalize", **options}, {"v": value})
    assert result.document == {"v": expected}
    assert (value in result.tainted) == (value != expected and isinstance(value, str))


@pytest.mark.parametrize(
    ("options", "value", "message"),
    [
        ({"as": "path"}, 12, "as: path needs text, and this is a number"),
        ({"as": "path"}, {"p": "/x"}, "as: path needs text, and this is an object"),
        ({"as": "bucket", "bounds": [1]}, "many", "as: bucket needs a number, and this is text"),
        ({"as": "bucket", "bounds": [1]}, False,
         "as: bucket needs a number, and this is a boolean"),
        ({"as": "category", "allow": ["a"]}, {"a": 1},
         "as: category needs a single value, not an object"),
    ],
)
def test_generalize_wrong_types_name_rule_and_path(options: dict[str, Any], value: Any,
                                                   message: str) -> None:
    error = apply_error({"select": "x.v", "action": "generalize", **options},
                        {"x": {"v": value}})
    assert (error.rule, error.path) == ("r", "x.v")
    assert error.render().startswith(f'p.yaml:5:5: rule "r": at x.v: {message}')


# ---- replace ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["s", 1, None, True, {"a": [1]}, [1, {"b": 2}]])
def test_replace_puts_the_constant_whatever_was_there(value: Any) -> None:
    result = apply_rule({"select": "v", "action": "replace", "value": "<x>"}, {"v": value})
    assert result.document == {"v": "<x>"}


def test_replace_with_a_container_gives_each_location_its_own_copy() -> None:
    result = apply_rule({"select": "v[*]", "action": "replace", "value": {"k": [1]}},
                        {"v": [1, 2]})
    first, second = result.document["v"]
    assert first == second == {"k": [1]}
    assert first is not second and first["k"] is not second["k"]
    assert "1" in result.tainted and "2" in result.tainted


def test_replace_null_with_null_changes_nothing() -> None:
    result = apply_rule({"select": "v", "action": "replace", "value": None}, {"v": None})
    assert result.document == {"v": None}
    assert result.report.rules[0].changed == 0


# ---- mask ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("options", "value", "expected"),
    [
        ({}, "task_1234", "*****1234"),
        ({}, "abcd", "****"),
        ({}, "abc", "***"),
        ({"keep_last": 2}, "t1", "**"),
        ({"keep_last": 0}, "secret", "******"),
        ({"char": "x"}, "abcdefg", "xxxdefg"),
        ({}, 1234567, "***4567"),
        ({}, "1234567", "***4567"),
        ({}, 12.5, "****"),
        ({}, None, None),
    ],
)
def test_mask(options: dict[str, Any], value: Any, expected: Any) -> None:
    result = apply_rule({"select": "v", "action": "mask", **options}, {"v": value})
    assert result.document == {"v": expected}


@pytest.mark.parametrize(
    ("value", "kind"), [(True, "a boolean"), ([1], "a list"), ({"a": "b"}, "an object")]
)
def test_mask_wrong_types_name_rule_and_path(value: Any, kind: str) -> None:
    error = apply_error({"select": "v[*]", "action": "mask"}, {"v": ["ok", value]})
    assert error.render() == (
        f'p.yaml:5:5: rule "r": at v[1]: mask applies to text or numbers, and this is {kind}. '
        "Select the text fields inside it, or use drop or hash"
    )


# ---- redact -------------------------------------------------------------------------------

def test_redact_text_lists_and_objects() -> None:
    doc = {"ctx": {"file": "/home/ann/acme/app.py", "/home/ann/k": ["mail ann@acme.io", 3],
                   "n": None, "ok": True, "note": "nothing to see"}}
    result = apply_rule({"select": "ctx", "action": "redact"}, doc)
    assert result.document == {"ctx": {"file": "<path>", "<path>": ["mail <email>", 3],
                                       "n": None, "ok": True, "note": "nothing to see"}}
    assert {"/home/ann/acme/app.py", "/home/ann/k", "ann@acme.io"} <= result.tainted


def test_redact_patterns_and_detector_choice() -> None:
    rule = {"select": "q", "action": "redact", "detectors": ["email"],
            "patterns": [r"ACME-\d+"]}
    result = apply_rule(rule, {"q": "ACME-1 and ACME-22 for bo@x.org in /tmp/x"})
    assert result.document == {"q": "<pattern> and <pattern> for <email> in /tmp/x"}


@pytest.mark.parametrize("value", [None, 5, 2.5, False])
def test_redact_leaves_non_text_alone(value: Any) -> None:
    result = apply_rule({"select": "v", "action": "redact"}, {"v": value})
    assert result.document == {"v": value}
    assert result.report.rules[0].changed == 0


# ---- aggregate ----------------------------------------------------------------------------

def test_aggregate_report_notes_suppression() -> None:
    rule = {"select": "recs", "action": "aggregate", "group_by": ["k"],
            "metrics": {"n": "count"}, "min_group_size": 2, "into": "out.rows"}
    doc = {"recs": [{"k": "a"}, {"k": "a"}, {"k": "b"}]}
    result = apply_rule(rule, doc)
    assert result.document == {"out": {"rows": [{"k": "a", "n": 2}]}}
    notes = result.report.rules[0].notes
    assert notes["suppressed_groups"] == 1 and notes["suppressed_records"] == 1
    assert result.report.rules[0].dropped == 1


def test_aggregate_output_is_covered_under_unmatched_drop() -> None:
    rule = {"select": "recs", "action": "aggregate", "metrics": {"n": "count"},
            "into": "summary"}
    result = apply_rule(rule, {"recs": [{"x": 1}, {"x": 2}], "other": 1}, unmatched="drop")
    assert result.document == {"summary": {"n": 2}}


@pytest.mark.parametrize(
    ("metrics", "records"),
    [
        ({"ok": "rate(success)"}, [{"success": True}, {"success": 1}]),
        ({"m": "mean(v)"}, [{"v": 1}, {"v": "2"}]),
        ({"m": "p95(v)"}, [{"v": [1, True]}]),
    ],
)
def test_aggregate_wrong_types_name_rule_and_path(metrics: dict[str, str],
                                                  records: list[Any]) -> None:
    rule = {"select": "data.recs", "action": "aggregate", "metrics": metrics, "into": "s"}
    error = apply_error(rule, {"data": {"recs": records}})
    assert error.rule == "r"
    # the contract: an action that cannot apply is "an error naming the rule and the path"
    assert error.path is not None and error.path.startswith("data.recs")
    assert 'rule "r": at data.recs' in error.render()


def test_aggregate_into_a_place_an_earlier_rule_covered_is_no_crash() -> None:
    # rule 1 covers a[1] (coverage mirrors the list a); the aggregate's `into: a.b` then
    # replaces that list with an object. The engine must answer with a learnexport error
    # or a result, never an internal TypeError.
    policy = policy_for(
        {"id": "k", "select": "a[1]", "action": "keep"},
        {"id": "agg", "select": "recs", "action": "aggregate", "metrics": {"n": "count"},
         "into": "a.b"},
        unmatched="drop",
    )
    with contextlib.suppress(LearnexportError):
        apply_policy(policy, {"a": [1, 2], "recs": [{"v": 1}]}, key=KEY)


# ---- options are checked when the policy loads --------------------------------------------

@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"select": "v", "action": "round", "digits": 1, "to": "day"},
         'p.yaml:7:13: rule "r": round needs exactly one of digits, step and to; it has '
         "digits, to. Write digits: 2 for numbers, step: 5 for multiples, or to: day for "
         "timestamps"),
        ({"select": "v", "action": "hash", "lenght": 3},
         "p.yaml:8:5: rule \"r\": unknown option 'lenght' for action hash (did you mean "
         "'length'?). The options of hash are length, prefix"),
        ({"select": "v", "action": "keep", "digits": 3},
         "p.yaml:8:5: rule \"r\": unknown option 'digits' for action keep. The action keep "
         "takes no options"),
        ({"select": "v", "action": "hsh"},
         "p.yaml:7:13: rule \"r\": unknown action 'hsh' (did you mean 'hash'?). Use one of: "
         "keep, drop, hash, round, generalize, replace, mask, redact, aggregate"),
        ({"select": "v", "action": "generalize", "as": "bucket"},
         "p.yaml:5:5: rule \"r\": as: bucket needs 'bounds'. Add bounds: [1, 5, 10]"),
        ({"select": "v", "action": "mask", "keep_last": 17},
         'p.yaml:8:16: rule "r": must be at most 16, not 17. Use 16 or less'),
    ],
)
def test_option_errors_at_load(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_for({"id": "r", **rule})
    assert caught.value.render() == message


# ---- the YAML cases -----------------------------------------------------------------------

def _load_cases() -> list[Any]:
    found = []
    for file in sorted(CASES.glob("*.yaml")):
        for index, case in enumerate(yaml.safe_load(file.read_text("utf-8"))):
            found.append(pytest.param(file.name, index, case, id=f"{file.stem}: {case['name']}"))
    return found


ALL_CASES = _load_cases()


@pytest.mark.parametrize(("file", "index", "case"), ALL_CASES)
def test_case(file: str, index: int, case: dict[str, Any]) -> None:
    assert ("expect" in case) != ("error" in case), f"{file}[{index}]: expect or error"
    outcome = run_case(case, shown=f"tests/cases/{file}")
    assert outcome.passed, "\n".join(outcome.problems)


def test_cases_cover_every_action() -> None:
    used: set[str] = set()
    for param in ALL_CASES:
        case = param.values[2]
        used.update(r["action"] for r in case.get("rules") or [case["rule"]])
    assert set(REGISTRY) <= used


# ---- registry, modules and docs agree -----------------------------------------------------

_HEADING = re.compile(r"^## `([a-z_]+)`$", re.M)


def _action_headings(markdown: str) -> list[str]:
    head, sep, actions_part = markdown.partition("\n# Actions\n")
    assert sep, "no '# Actions' section"
    return _HEADING.findall(actions_part)


def test_registry_modules_and_docs_agree(tmp_path: Path) -> None:
    modules = {}
    for info in pkgutil.iter_modules(actions_package.__path__):
        module = importlib.import_module(f"learnexport.actions.{info.name}")
        if hasattr(module, "ACTION"):
            modules[info.name] = module.ACTION
    assert sorted(modules) == sorted(REGISTRY)
    for name, action in REGISTRY.items():
        assert action.name == name
        assert modules[name] is action
        assert (action.transform is None) != (action.fold is None)
        assert _HEADING.findall(action.doc) == [name], f"{name}: its docstring's heading"

    target = tmp_path / "policy-reference.md"
    subprocess.run([sys.executable, "-m", "learnexport.docgen", str(target)], check=True,
                   capture_output=True)
    generated = target.read_text("utf-8")
    assert _action_headings(generated) == list(REGISTRY)

    shipped = REPO / "docs" / "policy-reference.md"
    assert shipped.is_file(), "docs/policy-reference.md is missing: python -m learnexport.docgen"
    assert _action_headings(shipped.read_text("utf-8")) == list(REGISTRY)
    assert shipped.read_text("utf-8") == generated, "docs/policy-reference.md is out of date"


def test_round_by_step_refuses_a_number_too_large_for_the_step() -> None:
    error = apply_error({"select": "a", "action": "round", "step": 0.5}, {"a": 1e308})
    assert (error.rule, error.path) == ("r", "a") and "too large for step 0.5" in str(error)


@settings(max_examples=200, deadline=None)
@given(bounds=st.lists(st.integers(-50, 50) | st.floats(-50, 50), min_size=1, max_size=5,
                       unique=True).map(sorted),
       number=st.integers(-60, 60) | st.floats(-60, 60))
def test_bucket_labels_name_the_interval_a_number_falls_in(bounds: list[float],
                                                           number: float) -> None:
    assume(all(a < b for a, b in zip(bounds, bounds[1:], strict=False)))

    def show(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if number < bounds[0]:
        expected = f"<{show(bounds[0])}"
    else:
        inside = [f"{show(a)}-{show(b)}" for a, b in zip(bounds, bounds[1:], strict=False)
                  if a <= number < b]
        expected = inside[0] if inside else f"{show(bounds[-1])}+"
    rule = {"select": "n", "action": "generalize", "as": "bucket", "bounds": bounds}
    assert apply_rule(rule, {"n": number}).document == {"n": expected}
