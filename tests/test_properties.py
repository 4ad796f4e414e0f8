"""Properties of applying policies, checked on generated documents and policies:
default deny, keyed hashing, an untouched input, and rule order."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from learnexport.applier import apply_policy
from learnexport.errors import LearnexportError
from learnexport.paths import leaves
from learnexport.policy import Policy, parse_policy
from learnexport.selectors import compile_selector

KEY = b"property-test-key-0123456789"
KEYS = ["a", "b", "c"]
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def make_policy(rules: list[dict[str, Any]], unmatched: str = "keep") -> Policy:
    rules = [{"id": f"r{i + 1}", **rule} for i, rule in enumerate(rules)]
    text = yaml.safe_dump({"policy": "prop", "version": "1.0.0", "unmatched": unmatched,
                           "rules": rules}, sort_keys=False)
    return parse_policy(text, "prop.yaml")


# ---- generators -----------------------------------------------------------------------------

fields = st.sampled_from(KEYS)


@st.composite
def selectors(draw: st.DrawFn) -> str:
    """Supported selectors: fields, [n], [-n], [*], .*, [], slices, filters, nested."""
    steps = draw(st.lists(st.sampled_from([
        ".a", ".b", ".c", "[0]", "[1]", "[-1]", "[*]", ".*", "[]", "[1:]", "[::-1]", "[:2]",
        "[?a]", "[?!b]", "[?type(@) == 'object']", "[?c == 'v']",
    ]), max_size=3))
    return draw(fields) + "".join(steps)


def _shape(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    tree = st.recursive(
        leaf,
        lambda kids: st.lists(kids, min_size=1, max_size=3)
        | st.dictionaries(fields, kids, min_size=1, max_size=3),
        max_leaves=25,
    )
    return st.dictionaries(fields, tree, min_size=1, max_size=3)


def _label_leaves(value: Any, counter: list[int]) -> Any:
    if isinstance(value, dict):
        return {k: _label_leaves(v, counter) for k, v in value.items()}
    if isinstance(value, list):
        return [_label_leaves(v, counter) for v in value]
    counter[0] += 1
    return f"s{counter[0]}"


# every leaf a distinct string, no empty containers: leaves can be followed through a run
labelled_documents = _shape(st.just(0)).map(lambda doc: _label_leaves(doc, [0]))

realistic_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-1000, max_value=1000),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from(["v", "0.8788", "12", "2026-01-30T16:05:40Z", "2025-12-18",
                     "/home/ann/acme/src/app.py", "mail ann@acme.io", "task_1", "", "é"]),
)
documents = _shape(realistic_values)

rule_bodies = st.sampled_from([
    {"action": "keep"},
    {"action": "drop"},
    {"action": "hash"},
    {"action": "hash", "length": 8, "prefix": "h_"},
    {"action": "round", "digits": 1},
    {"action": "round", "step": 5},
    {"action": "round", "to": "day"},
    {"action": "replace", "value": "X"},
    {"action": "replace", "value": {"k": [1]}},
    {"action": "redact"},
    {"action": "mask", "keep_last": 2},
    {"action": "generalize", "as": "bucket", "bounds": [0, 10]},
    {"action": "aggregate", "metrics": {"n": "count"}, "into": "agg.all"},
    {"action": "aggregate", "group_by": ["a"], "metrics": {"n": "count"}, "into": "agg.rows"},
    {"action": "aggregate", "metrics": {"n": "count"}, "into": "a.n", "keep_source": True},
])
rules = st.builds(lambda body, select: {"select": select, **body}, rule_bodies, selectors())


# ---- unmatched: drop --------------------------------------------------------------------------

@FAST
@given(doc=labelled_documents, kept=st.lists(selectors(), min_size=1, max_size=3))
def test_unmatched_drop_leaves_only_what_keep_rules_covered(doc: dict[str, Any],
                                                           kept: list[str]) -> None:
    covered: set[str] = set()
    for expression in kept:
        for match in compile_selector(expression).resolve(doc):
            covered.update(value for _, value in leaves(match.value))
    all_leaves = [value for _, value in leaves(doc)]

    policy = make_policy([{"select": s, "action": "keep"} for s in kept], unmatched="drop")
    result = apply_policy(policy, doc, key=KEY)

    remaining = [] if result.document == {} else list(leaves(result.document))
    for path, value in remaining:
        assert isinstance(value, str), f"an empty container was left at {path}"
    assert sorted(value for _, value in remaining) == sorted(covered)
    # the report counts exactly the leaves that were dropped
    assert sum(result.report.uncovered.values()) == len(all_leaves) - len(covered)


# ---- hashing ------------------------------------------------------------------------------------

hashable_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@FAST
@given(values=st.lists(hashable_values, min_size=1, max_size=8),
       key1=st.binary(min_size=16, max_size=40), key2=st.binary(min_size=16, max_size=40))
def test_hashing_is_deterministic_for_a_key_and_differs_across_keys(
        values: list[Any], key1: bytes, key2: bytes) -> None:
    assume(key1 != key2)
    policy = make_policy([{"select": "v[*]", "action": "hash"}])
    first = apply_policy(policy, {"v": values}, key=key1).document["v"]
    again = apply_policy(policy, {"v": values}, key=key1).document["v"]
    other = apply_policy(policy, {"v": values}, key=key2).document["v"]
    assert first == again
    for value, h1, h2 in zip(values, first, other, strict=True):
        if value is None:
            assert h1 is None and h2 is None
            continue
        expected = hmac.new(key1, _text(value).encode(), hashlib.sha256).hexdigest()[:16]
        assert h1 == expected
        assert h1 != h2
    # equal texts give equal hashes (records still join), different texts different ones
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            if a is not None and b is not None:
                assert (_text(a) == _text(b)) == (first[i] == first[j])


# ---- the input is never changed ----------------------------------------------------------

def _container_ids(value: Any) -> set[int]:
    found: set[int] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.add(id(node))
            stack.extend(node.values())
        elif isinstance(node, list):
            found.add(id(node))
            stack.extend(node)
    return found


@FAST
@given(doc=documents, policy_rules=st.lists(rules, min_size=1, max_size=4),
       unmatched=st.sampled_from(["drop", "keep", "error"]))
def test_apply_never_changes_its_input(doc: dict[str, Any], policy_rules: list[dict[str, Any]],
                                       unmatched: str) -> None:
    before = copy.deepcopy(doc)
    policy = make_policy(policy_rules, unmatched=unmatched)
    try:
        result = apply_policy(policy, doc, key=KEY)
    except Exception:  # failing or not, the input must be as it was
        result = None
    assert repr(doc) == repr(before)
    if result is not None:
        assert not _container_ids(result.document) & _container_ids(doc)


@FAST
@given(doc=documents, policy_rules=st.lists(rules, min_size=1, max_size=4),
       unmatched=st.sampled_from(["drop", "keep", "error"]))
@example(  # an aggregate written through a list that an earlier rule partly covered
    doc={"a": [1, 2], "b": [{"x": 1}]},
    policy_rules=[{"select": "a[0]", "action": "hash"},
                  {"select": "b", "action": "aggregate", "metrics": {"n": "count"},
                   "into": "a.n", "keep_source": True}],
    unmatched="keep",
)
def test_apply_fails_only_with_learnexport_errors(doc: dict[str, Any],
                                                  policy_rules: list[dict[str, Any]],
                                                  unmatched: str) -> None:
    policy = make_policy(policy_rules, unmatched=unmatched)
    try:
        apply_policy(policy, doc, key=KEY)
    except LearnexportError as exc:
        assert exc.rule is not None or unmatched == "error"


# ---- order: a later rule sees the result of the earlier ones ----------------------------

def _outcome(rules_: list[dict[str, Any]], doc: Any) -> tuple[str, Any]:
    try:
        return "ok", apply_policy(make_policy(rules_), doc, key=KEY).document
    except LearnexportError as exc:
        return "error", (type(exc).__name__, exc.path, exc.message)


@FAST
@given(doc=documents, first=rules, second=rules)
def test_a_later_rule_sees_the_earlier_result(doc: dict[str, Any], first: dict[str, Any],
                                             second: dict[str, Any]) -> None:
    first = {"id": "r1", **first}
    second = {"id": "r2", **second}
    together = _outcome([first, second], doc)
    step_one = _outcome([first], doc)
    if step_one[0] == "error":
        assert together == step_one
        return
    assert together == _outcome([second], step_one[1])


def test_order_matters_replace_and_hash() -> None:
    doc = {"a": "original"}
    replace = {"select": "a", "action": "replace", "value": "task_1"}
    hashing = {"select": "a", "action": "hash"}
    digest = hmac.new(KEY, b"task_1", hashlib.sha256).hexdigest()[:16]
    assert apply_policy(make_policy([replace, hashing]), doc, key=KEY).document == {"a": digest}
    assert apply_policy(make_policy([hashing, replace]), doc, key=KEY).document == {
        "a": "task_1"}


def test_order_matters_drop_shifts_indexes() -> None:
    doc = {"a": ["x", "y", "z"]}
    drop_first = {"select": "a[0]", "action": "drop"}
    mark_first = {"select": "a[0]", "action": "replace", "value": "first"}
    assert apply_policy(make_policy([drop_first, mark_first]), doc, key=KEY).document == {
        "a": ["first", "z"]}
    assert apply_policy(make_policy([mark_first, drop_first]), doc, key=KEY).document == {
        "a": ["y", "z"]}


def test_round_then_aggregate_groups_by_the_rounded_day() -> None:
    doc = {"runs": [{"at": "2026-01-30T10:00:00", "ok": True},
                    {"at": "2026-01-30T23:00:00", "ok": False},
                    {"at": "2026-01-31T01:00:00", "ok": True}]}
    rounding = {"select": "runs[*].at", "action": "round", "to": "day"}
    folding = {"select": "runs", "action": "aggregate", "group_by": ["at"],
               "metrics": {"n": "count", "ok": "rate(ok)"}, "into": "per_day"}
    result = apply_policy(make_policy([rounding, folding]), doc, key=KEY).document
    assert result == {"per_day": [{"at": "2026-01-30", "n": 2, "ok": 0.5},
                                  {"at": "2026-01-31", "n": 1, "ok": 1.0}]}
    # the other way round, the aggregate groups the raw timestamps and rounding finds nothing
    result = apply_policy(make_policy([folding, rounding]), doc, key=KEY).document
    assert [row["n"] for row in result["per_day"]] == [1, 1, 1]


# ---- a whole column at once (transform_many) agrees with one value at a time ---------------

column_values = st.lists(
    st.sampled_from(["task_1", "task_2", "<name>", "", "Ann Lee", "a\nb", "x" * 30])
    | st.none() | st.integers(-3, 3) | st.lists(st.sampled_from(["a", "bcde"]), max_size=2),
    max_size=12)
MANY = {"hash": {"length": 12, "prefix": "t_"}, "replace": {"value": "<name>"},
        "drop": {}}


@FAST
@given(values=column_values, action=st.sampled_from(sorted(MANY)))
def test_transform_many_agrees_with_transform(values: list[Any], action: str) -> None:
    from learnexport.actions import REGISTRY, RunContext

    impl = REGISTRY[action]
    assert impl.transform is not None and impl.transform_many is not None
    params = impl.prepare(dict(MANY[action]))
    one, many = RunContext(key=KEY), RunContext(key=KEY)
    expected = [impl.transform(copy.deepcopy(v), params, one) for v in values]
    assert impl.transform_many(copy.deepcopy(values), params, many) == expected
    assert (many.tainted, many.produced) == (one.tainted, one.produced)


@FAST
@given(values=st.lists(st.sampled_from(["a", "bcde", "ann"]) | st.none(), min_size=1,
                       max_size=6), missing=st.sets(st.integers(0, 5)))
def test_a_field_rule_over_records_is_the_same_by_column_and_by_record(
        values: list[Any], missing: set[int]) -> None:
    rows = [{"id": i, "v": v} if i not in missing else {"id": i}
            for i, v in enumerate(values)]
    policy = make_policy([{"select": "rows[*].v", "action": "hash"},
                          {"select": "rows[*].id", "action": "keep"}])
    by_column = apply_policy(policy, {"rows": rows}, key=KEY)
    generic = make_policy([{"select": "rows[?`true`].v", "action": "hash"},
                           {"select": "rows[*].id", "action": "keep"}])
    by_record = apply_policy(generic, {"rows": rows}, key=KEY)
    assert by_column.document == by_record.document
    assert by_column.tainted == by_record.tainted
    assert by_column.report.rules[0].matched == by_record.report.rules[0].matched


row_values = st.none() | st.integers(0, 3) | st.sampled_from(["x", ""]) \
    | st.lists(st.sampled_from(["y", 1]), max_size=2) \
    | st.dictionaries(st.sampled_from(["p", "q"]), st.integers(0, 2) | st.just({}), max_size=2)
rows_of_records = st.lists(st.dictionaries(fields, row_values, max_size=3), min_size=1,
                           max_size=6)
# records of one shape with leaf values only: the sweep's quickest path
uniform_rows = st.builds(
    lambda keys, rows: [dict(zip(keys, row, strict=False)) for row in rows],
    st.lists(fields, min_size=1, max_size=3, unique=True),
    st.lists(st.tuples(*[st.none() | st.integers(0, 3) | st.just("x")] * 3), min_size=1,
             max_size=5))


@FAST
@given(rows=rows_of_records | uniform_rows,
       kept=st.lists(st.sampled_from(["a", "b", "c.p"]), max_size=2),
       unmatched=st.sampled_from(["keep", "drop"]))
def test_the_sweep_is_the_same_by_column_and_by_record(rows: list[dict[str, Any]],
                                                       kept: list[str], unmatched: str) -> None:
    """``rows[*].a`` covers every record alike (the sweep works by column); the same rule
    written with a filter covers each record on its own (the sweep works by record)."""
    shared = make_policy([{"select": f"rows[*].{k}", "action": "keep"} for k in kept]
                         + [{"select": "other", "action": "keep"}], unmatched)
    each = make_policy([{"select": f"rows[?`true`].{k}", "action": "keep"} for k in kept]
                       + [{"select": "other", "action": "keep"}], unmatched)
    doc = {"rows": rows, "other": 1}
    by_column, by_record = apply_policy(shared, doc), apply_policy(each, doc)
    assert by_column.document == by_record.document
    assert by_column.report.uncovered == by_record.report.uncovered


@FAST
@given(key=st.binary(min_size=1, max_size=200), text=st.text(max_size=300),
       length=st.integers(8, 64))
def test_the_hash_is_hmac_sha256_for_any_key_and_text(key: bytes, text: str,
                                                      length: int) -> None:
    """The hash action's HMAC (padded-key states hashed once) is RFC 2104's, also for
    keys longer than SHA-256's 64-byte block, which are hashed first."""
    from learnexport.actions.hash import digest

    assume(not any("\ud800" <= c <= "\udfff" for c in text))  # not UTF-8 encodable
    expected = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
    assert digest(key, text, length) == expected


def _keys_by_hand(value: Any) -> int:
    if isinstance(value, float) and not -9.2e18 < value < 9.2e18:
        return -1
    if isinstance(value, dict | list):
        parts = [_keys_by_hand(v) for v in (value.values() if isinstance(value, dict) else value)]
        return -1 if -1 in parts else sum(parts) + (len(value) if isinstance(value, dict) else 0)
    return 0


json_leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=3) \
    | st.floats(allow_nan=True, allow_infinity=True)


@FAST
@given(value=st.recursive(json_leaves, lambda kids: st.lists(kids, max_size=4)
                          | st.dictionaries(st.text(max_size=3), kids, max_size=4)),
       repeat=st.integers(0, 400))
def test_count_keys_counts_every_key_and_refuses_huge_or_odd_floats(value: Any,
                                                                    repeat: int) -> None:
    """One count for a line and for a whole document: a list longer than WIDE is counted
    a level at a time, the rest walked; both agree with a plain recursive count."""
    from learnexport.columns import count_keys

    for doc in (value, [value] * repeat, {"rows": [value] * repeat}):
        assert count_keys(doc) == _keys_by_hand(doc)


_WS = st.text(alphabet=" \t\r\n", max_size=2)
_FINITE = st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=3) \
    | st.floats(allow_nan=False, allow_infinity=False)


@FAST
@given(pairs=st.lists(st.tuples(st.sampled_from(["a", "b", "a b", ":", '"']), _FINITE,
                                _WS, _WS), max_size=5),
       nested=st.booleans())
def test_a_duplicate_key_is_never_merged_however_the_colon_is_spaced(
        pairs: list[tuple[str, Any, str, str]], nested: bool) -> None:
    """orjson keeps the last of two equal keys; the fast readers must see the duplicate
    however the text spaces its colons (``"a" :``), in a document, a line or an element.
    A text they accept parses as the strict decoder parses it."""
    import orjson
    from learnexport.columns import keys_agree
    from learnexport.docio import parse_json
    from learnexport.streams import fast_loads

    body = ",".join(f"{json.dumps(k)}{before}:{after}{json.dumps(v)}"
                    for k, v, before, after in pairs)
    text = "{" + body + "}"
    if nested:
        text = '[{"x": ' + text + "}]"
    keys = [k for k, *_ in pairs]
    duplicated = len(set(keys)) < len(keys)
    fast = fast_loads(text.encode())
    if duplicated:
        assert fast is None
        with pytest.raises(LearnexportError, match="duplicate key"):
            parse_json(text, "d.json")
    elif fast is not None:
        assert fast == json.loads(text)
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return
    if duplicated:
        assert not keys_agree(text.encode(), parsed)


@pytest.mark.parametrize("wide", [False, True])
def test_count_keys_and_the_strict_readers_stop_at_the_same_depth(wide: bool) -> None:
    """The fast path (count_keys, by record, or a level at a time under a list longer
    than WIDE) and the strict readers (deeper_than_allowed) refuse exactly past MAX_DEPTH."""
    from learnexport.columns import MAX_DEPTH, WIDE, count_keys, deeper_than_allowed

    def nested(levels: int) -> Any:  # ``levels`` containers deep, one key at the bottom
        value: Any = {"k": 1}
        for _ in range(levels - 2):
            value = [value]
        return [value] * (WIDE + 1 if wide else 1)

    copies = WIDE + 1 if wide else 1
    assert count_keys(nested(MAX_DEPTH)) == copies
    assert not deeper_than_allowed(nested(MAX_DEPTH))
    assert count_keys(nested(MAX_DEPTH + 1)) == -1
    assert deeper_than_allowed(nested(MAX_DEPTH + 1))
