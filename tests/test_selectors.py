"""Selectors name locations: their paths, what they refuse, and a property pinning them
to jmespath itself (``Selector.structure(doc) == jmespath.search(expr, doc)``)."""

from __future__ import annotations

import copy

import jmespath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from learnexport.paths import format_path, get
from learnexport.selectors import SelectorSyntaxError, compile_selector

DOC = {
    "a": [
        {"b": [1, 2, [3, 4]], "c": None, "k": "v"},
        {"b": [5], "k": "w"},
        {"x": 1},
    ],
    "o": {"p": {"v": 1}, "q": {"v": 2}, "r": 3},
    "odd key": {'"q': 1, "a.b": 2},
    "n": None,
    "l": [[1, 2], [3, [4]], 5],
    "nums": [0, 1, 2, 3, 4, 5],
    "tasks": [
        {"id": "t1", "tags": ["x", "y"], "score": 3, "outcome": "failure"},
        {"id": "t2", "tags": [], "score": 1, "outcome": "success"},
        {"id": "t3", "tags": ["y"], "score": 2, "outcome": "failure"},
    ],
}


def paths(expression: str, doc: object = DOC) -> list[str]:
    return [format_path(m.path) for m in compile_selector(expression).resolve(doc)]


# ---- paths -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # fields and nesting
        ("o.p.v", ["o.p.v"]),
        ("a[0].b[2][1]", ["a[0].b[2][1]"]),
        ("@", ["@"]),
        # list wildcards over nested lists
        ("a[*].b", ["a[0].b", "a[1].b"]),
        ("a[*].b[0]", ["a[0].b[0]", "a[1].b[0]"]),
        ("a[*].b[2][0]", ["a[0].b[2][0]"]),
        ("l[*][0]", ["l[0][0]", "l[1][0]"]),
        ("tasks[*].tags[*]", ["tasks[0].tags[0]", "tasks[0].tags[1]", "tasks[2].tags[0]"]),
        # object wildcards
        ("o.*", ["o.p", "o.q", "o.r"]),
        ("o.*.v", ["o.p.v", "o.q.v"]),
        ("*.p", ["o.p"]),
        # flatten
        ("a[*].b[]", ["a[0].b[0]", "a[0].b[1]", "a[0].b[2]", "a[1].b[0]"]),
        ("a[].b[]", ["a[0].b[0]", "a[0].b[1]", "a[0].b[2]", "a[1].b[0]"]),
        ("l[]", ["l[0][0]", "l[0][1]", "l[1][0]", "l[1][1]", "l[2]"]),
        ("l[][]", ["l[0][0]", "l[0][1]", "l[1][0]", "l[1][1][0]", "l[2]"]),
        ("a[].b[1]", ["a[0].b[1]"]),
        # slices, negative steps included
        ("nums[1:3]", ["nums[1]", "nums[2]"]),
        ("nums[4:]", ["nums[4]", "nums[5]"]),
        ("nums[:2]", ["nums[0]", "nums[1]"]),
        ("nums[::2]", ["nums[0]", "nums[2]", "nums[4]"]),
        ("nums[::-1]", ["nums[5]", "nums[4]", "nums[3]", "nums[2]", "nums[1]", "nums[0]"]),
        ("nums[::-2]", ["nums[5]", "nums[3]", "nums[1]"]),
        ("nums[4:1:-1]", ["nums[4]", "nums[3]", "nums[2]"]),
        ("nums[-2:]", ["nums[4]", "nums[5]"]),
        ("nums[:0]", []),
        ("a[::-1].b", ["a[1].b", "a[0].b"]),
        ("a[*].b[1:]", ["a[0].b[1]", "a[0].b[2]"]),
        ("a[*].b[0:1]", ["a[0].b[0]", "a[1].b[0]"]),
        # negative indexes
        ("a[-1]", ["a[2]"]),
        ("nums[-6]", ["nums[0]"]),
        ("l[0][-1]", ["l[0][1]"]),
        ("a[*].b[-1]", ["a[0].b[2]", "a[1].b[0]"]),
        # an index after a slice applies to each sliced element (jmespath projects)
        ("a[::-1][0]", []),
        # filters
        ("a[?b].b", ["a[0].b", "a[1].b"]),
        ("a[?k == 'w']", ["a[1]"]),
        ("tasks[?outcome == 'failure'].id", ["tasks[0].id", "tasks[2].id"]),
        ("tasks[?score > `1`].id", ["tasks[0].id", "tasks[2].id"]),
        ("tasks[?score <= `2`].id", ["tasks[1].id", "tasks[2].id"]),
        ("tasks[?score != `3`]", ["tasks[1]", "tasks[2]"]),
        ("nums[?@ >= `4`]", ["nums[4]", "nums[5]"]),
        ("a[*].b[?@ > `1`]", ["a[0].b[1]", "a[1].b[0]"]),
        # the condition is full JMESPath: functions, ||, &&, ! are fine inside it
        ("tasks[?contains(tags, 'y')].id", ["tasks[0].id", "tasks[2].id"]),
        ("tasks[?length(tags) > `0`].id", ["tasks[0].id", "tasks[2].id"]),
        ("a[?contains(keys(@), 'x')]", ["a[2]"]),
        ("tasks[?score > `2` || id == 't2'].id", ["tasks[0].id", "tasks[1].id"]),
        ("tasks[?outcome == 'failure' && score < `3`].id", ["tasks[2].id"]),
        ("tasks[?!contains(tags, 'x')].id", ["tasks[1].id", "tasks[2].id"]),
        ("tasks[?starts_with(id, 't1')].id", ["tasks[0].id"]),
        # quoted keys
        ('"odd key"', ['"odd key"']),
        ('"odd key"."a.b"', ['"odd key"."a.b"']),
        ('"odd key"."\\"q"', ['"odd key"."\\"q"']),
        # null-valued keys that exist are locations
        ("n", ["n"]),
        ("a[*].c", ["a[0].c"]),
        # missing keys, out-of-range indexes, walking into scalars: nothing
        ("missing", []),
        ("missing.deeper[*]", []),
        ("a[*].missing", []),
        ("o.*.missing", []),
        ("a[5]", []),
        ("a[-4]", []),
        ("n.x", []),
        ("o.r.x", []),
        ("a[*].c.d", []),
        ("o[*]", []),
        ("a.*", []),
        ("o.p[?v]", []),
    ],
)
def test_resolve_paths(expression: str, expected: list[str]) -> None:
    assert paths(expression) == expected


def test_match_carries_container_and_key_for_writing() -> None:
    (match,) = compile_selector("a[1].k").resolve(DOC)
    assert match.path == ("a", 1, "k")
    assert match.container is DOC["a"][1]
    assert match.key == "k"
    assert match.value == "w"
    (item,) = compile_selector("a[-1]").resolve(DOC)
    assert item.container is DOC["a"] and item.key == 2  # a normalized, not negative, index
    (root,) = compile_selector("@").resolve(DOC)
    assert root.container is None and root.key is None and root.value is DOC


def test_null_valued_key_is_a_location_even_though_jmespath_drops_it() -> None:
    selector = compile_selector("a[*].c")
    (match,) = selector.resolve(DOC)
    assert match.path == ("a", 0, "c") and match.value is None
    assert selector.structure(DOC) == jmespath.search("a[*].c", DOC) == []
    (top,) = compile_selector("n").resolve(DOC)
    assert top.path == ("n",) and top.value is None


@pytest.mark.parametrize(
    "expression",
    ["missing", "missing.deeper", "a[*].missing", "a[*].missing.deeper", "o.*.none", "a[7].b",
     "n.x", "n[*]", "odd.key", "tasks[?nope == 'x'].nope"],
)
def test_missing_keys_match_nothing_and_never_create_keys(expression: str) -> None:
    doc = copy.deepcopy(DOC)
    assert compile_selector(expression).resolve(doc) == []
    assert doc == DOC
    assert repr(doc) == repr(DOC)


def test_resolve_lists_matches_in_document_order() -> None:
    found = compile_selector("tasks[*].id").resolve(DOC)
    assert [m.value for m in found] == ["t1", "t2", "t3"]


def test_static_prefix() -> None:
    assert compile_selector("analytics.agents[*].x").static_prefix == ("analytics", "agents")
    assert compile_selector("memory[?outcome == 'failure'].context").static_prefix == (
        "memory",)
    assert compile_selector("a.b.c").static_prefix == ("a", "b", "c")
    assert compile_selector("*.p").static_prefix == ()


# ---- refused constructs -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("length(a)", "a function call 'length()' computes a value instead of naming a location"),
        ("a[*].to_string(@)",
         "a function call 'to_string()' computes a value instead of naming a location"),
        ("a | [0]", "a pipe '|' computes a value instead of naming a location"),
        ("a[*].[b, c]",
         "a multiselect list '[a, b]' computes a value instead of naming a location"),
        ("{x: a}", "a multiselect hash '{a: b}' computes a value instead of naming a location"),
        ("`1`", "a literal computes a value instead of naming a location"),
        ("'raw'", "a literal computes a value instead of naming a location"),
        ("a || b", "an '||' expression computes a value instead of naming a location"),
        ("a && b", "an '&&' expression computes a value instead of naming a location"),
        ("!a", "a '!' expression computes a value instead of naming a location"),
        ("&a", "an expression reference '&' computes a value instead of naming a location"),
        ("a == b", "a comparison computes a value instead of naming a location"),
        ("a[?b].length(c)",
         "a function call 'length()' computes a value instead of naming a location"),
    ],
)
def test_refused_constructs_are_named(expression: str, message: str) -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        compile_selector(expression)
    assert str(caught.value) == message
    assert caught.value.hint is not None and "[?filter]" in caught.value.hint


@pytest.mark.parametrize(
    ("expression", "message", "offset"),
    [
        ("a[*", "invalid JMESPath at its end (column 4 of the selector)", 3),
        ("a.[", "invalid JMESPath at its end (column 4 of the selector)", 3),
        ("a[?b", "invalid JMESPath at its end (column 5 of the selector)", 4),
    ],
)
def test_syntax_errors_carry_the_column(expression: str, message: str, offset: int) -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        compile_selector(expression)
    assert str(caught.value) == message
    assert caught.value.offset == offset


def test_syntax_error_names_the_token() -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        compile_selector("a..b")
    assert str(caught.value) == "invalid JMESPath near '.' (column 3 of the selector)"
    assert caught.value.offset == 2


def test_lexer_error_is_a_selector_error() -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        compile_selector('"unterminated')
    assert str(caught.value) == "invalid JMESPath near '\"unterminated' (column 1 of the selector)"
    assert caught.value.offset == 0


@pytest.mark.parametrize("expression", ["", "   "])
def test_empty_selector_is_refused(expression: str) -> None:
    with pytest.raises(SelectorSyntaxError, match=r"\Athe selector is empty\Z"):
        compile_selector(expression)


def test_slice_with_zero_step_is_refused_when_compiled() -> None:
    # jmespath itself fails on a zero step at search time; a selector is compiled once at
    # load, so the load is where a policy author must hear about it, not at apply time.
    with pytest.raises(SelectorSyntaxError, match="step"):
        compile_selector("nums[::0]")


# ---- the property: locations are exactly what jmespath.search returns ---------------------

KEYS = ["a", "b", "d e"]
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.sampled_from(["v", "w", ""])
    | st.builds(list)
    | st.builds(dict)
)
documents = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, min_size=1, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS), kids, min_size=2, max_size=3),
    max_leaves=40,
)
# most documents are objects holding most keys, so that selectors find something
root_documents = st.dictionaries(st.sampled_from(KEYS), documents, min_size=2) | documents


def _field(key: str) -> str:
    return key if key.isidentifier() else f'"{key}"'


fields = st.sampled_from(KEYS).map(_field)
_bound = st.none() | st.integers(min_value=-3, max_value=3)
slices = st.tuples(_bound, _bound, st.sampled_from([None, 1, 2, -1, -2])).map(
    lambda t: "[" + ":".join("" if x is None else str(x) for x in t) + "]"
)


@st.composite
def conditions(draw: st.DrawFn) -> str:
    f = draw(fields)
    g = draw(fields)
    return draw(st.sampled_from([
        f,
        f"{f} == 'v'",
        f"{f} != 'w'",
        f"{f} > `1`",
        f"{f} <= `0`",
        f"!{f}",
        f"{f}.{g}",
        f"{f} && {g}",
        f"{f}[?{g}]",
        "@ == `2`",
        "@",
        "type(@) == 'object'",
        f"{f} || {g}",
    ]))


@st.composite
def steps(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["field", "index", "wild", "values", "flatten", "slice",
                                 "filter"]))
    if kind == "field":
        return "." + draw(fields)
    if kind == "index":
        return f"[{draw(st.integers(min_value=-3, max_value=3))}]"
    if kind == "wild":
        return "[*]"
    if kind == "values":
        return ".*"
    if kind == "flatten":
        return "[]"
    if kind == "slice":
        return draw(slices)
    return f"[?{draw(conditions())}]"


@st.composite
def selectors(draw: st.DrawFn) -> str:
    start = draw(st.one_of(
        fields, fields, fields,
        st.sampled_from(["@", "*", "[*]", "[]", "[0]", "[-1]", "[?a]", "[::-1]"]),
    ))
    return start + "".join(draw(st.lists(steps(), max_size=3)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=root_documents, expression=selectors())
def test_selector_resolves_exactly_what_jmespath_returns(doc: object, expression: str) -> None:
    before = copy.deepcopy(doc)
    selector = compile_selector(expression)

    expected = jmespath.search(expression, doc)
    got = selector.structure(doc)
    assert got == expected
    assert repr(got) == repr(expected)  # same types (True is not 1), same order

    for match in selector.resolve(doc):
        assert get(doc, match.path) is match.value
        if match.container is not None:
            assert match.container[match.key] is match.value
    assert repr(doc) == repr(before)  # resolving never creates or changes anything


@pytest.mark.parametrize(
    "expression",
    ["a[*].b[]", "l[][]", "o.*.v", "tasks[?contains(tags, 'y')].tags[-1]", "a[::-1].b[1:]",
     "nums[5:1:-2]", "a[*].b[?@ > `1`]", "*.p.v", "tasks[].tags[]"],
)
def test_fixed_examples_agree_with_jmespath(expression: str) -> None:
    selector = compile_selector(expression)
    assert repr(selector.structure(DOC)) == repr(jmespath.search(expression, DOC))
    for match in selector.resolve(DOC):
        assert get(DOC, match.path) is match.value


def test_an_ordering_comparison_of_non_numbers_is_null_as_the_spec_says() -> None:
    """JMESPath: ordering non-numbers yields null (jmespath.py raises TypeError)."""
    doc = {"a": [{"b": "x"}, {"b": 60}, {"b": 40}]}
    found = compile_selector("a[?b > `50`]").resolve(doc)
    assert [m.path for m in found] == [("a", 1)]


def test_a_filter_function_given_the_wrong_type_is_a_clear_error() -> None:
    from learnexport.applier import apply_policy
    from learnexport.errors import ApplyError
    from learnexport.policy import parse_policy

    policy = parse_policy("policy: t\nversion: 1.0.0\nunmatched: keep\nrules:\n"
                          "  - {id: g, select: \"a[?length(b) > `1`]\", action: drop}\n", "p.yaml")
    with pytest.raises(ApplyError) as caught:
        apply_policy(policy, {"a": [{"b": 5}]})
    assert caught.value.render().startswith(
        'p.yaml:5:5: rule "g": the filter condition failed: In function length(), invalid type')
