"""A list of records seen as columns: one list of values per key, taken without a Python
step per record.

JSON records written by one program usually share one shape (the same keys in the same
order). Then the keys and values of all records, chained into two flat lists (in C), are
row-major tables, and a column is a slice with a step. Records of mixed shapes fall back
to counting keys and taking each column with ``itemgetter``. The leak check's fast path,
the sweep of ``unmatched`` and the strict reader's key count walk big lists this way.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain, compress, repeat
from operator import is_, itemgetter
from typing import Any


def uniform_keys(dicts: Sequence[dict[str, Any]]) -> list[str] | None:
    """The keys of every dict in ``dicts``, in order, when all have the same ones in the
    same order; else None. (The chained keys equal the first dict's keys repeated: a
    dict of another length would have to repeat a key.)"""
    if not dicts:
        return None
    first = list(dicts[0])
    width, size = len(first), len(dicts)
    flat = list(chain.from_iterable(dicts))
    if len(flat) != width * size:
        return None
    for i, key in enumerate(first):
        if flat[i::width].count(key) != size:
            return None
    return first


Column = tuple[str, list[Any], set[type]]  # a key, its values, their types


def columns(dicts: Sequence[dict[str, Any]]) -> list[Column]:
    """Each key of ``dicts`` with the values it has, in record order (records without
    the key are skipped), and the set of their types."""
    keys = uniform_keys(dicts)
    if keys is not None:
        width = len(keys)
        if width == 0:
            return []
        values = list(chain.from_iterable(map(dict.values, dicts)))
        # types taken in row order (where the values lie in memory), then sliced
        types = list(map(type, values))
        return [(key, values[i::width], set(types[i::width])) for i, key in enumerate(keys)]
    size = len(dicts)
    out: list[Column] = []
    for key, count in Counter(chain.from_iterable(dicts)).items():
        column = (list(map(itemgetter(key), dicts)) if count == size
                  else [d[key] for d in dicts if key in d])
        out.append((key, column, set(map(type, column))))
    return out


def split_kinds(values: list[Any], kinds: set[type] | None = None, *, strings: bool = True
                ) -> tuple[list[str], list[dict[str, Any]], list[list[Any]]]:
    """The strings (unless not wanted), objects and arrays among ``values`` (other scalars
    are left out); ``kinds``: the types of the values, when known."""
    if kinds is None:
        kinds = set(map(type, values))
    found = values if kinds == {str} else (
        [v for v in values if type(v) is str] if strings and str in kinds else [])
    dicts = values if kinds == {dict} else (
        [v for v in values if type(v) is dict] if dict in kinds else [])
    lists = values if kinds == {list} else (
        [v for v in values if type(v) is list] if list in kinds else [])
    return found, dicts, lists


BIG = 9.2e18  # a float this large may be an integer that did not fit 64 bits
MAX_DEPTH = 200  # the deepest nesting read, in JSON as in YAML (a real export nests ~10)
# a record of a project's file: the collected document puts it up to 3 levels down
# (analytics.agents[i]), and what collect writes must stay within what apply reads
RECORD_DEPTH = MAX_DEPTH - 3
WIDE = 256  # a list longer than this is counted a level at a time


# a colon right after whitespace: where a key may be written ``"a" :``, which ``":`` misses
_SPACED = re.compile(rb":(?<=[ \t\r\n]:)")  # the literal first: a fast scan for colons
# ... and whether a quote comes before that whitespace (text such as "Erreur : x" has none)
_KEY_SPACED = re.compile(rb'"[ \t\r\n]+:')


def spaced_key(raw: bytes) -> bool:
    """Whether ``raw`` may write a key with whitespace before its colon (``"a" :``): the
    count of ``":`` would miss that key, so such a text is never agreed on that count."""
    # (the search alone: most lines hold other colons too, in times of day, so a count of
    # all colons first would only add a step; 0.27 us a line of the framework's analytics)
    return bool(_SPACED.search(raw) and _KEY_SPACED.search(raw))


def keys_agree(raw: bytes, value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value``, parsed by orjson from the JSON ``raw``, has every key ``raw``
    writes: orjson keeps the last of two equal keys without a word. Each key written is
    counted by the ``":`` that ends it; a colon after whitespace (``"a" :``) would escape
    that count and could hide a duplicate, so such a text is never agreed (the strict
    decoder then decides). False too when a float is out of range, or containers nest
    deeper than ``limit`` (``count_keys``)."""
    if spaced_key(raw):
        return False
    written = raw.count(b'":')
    if type(value) is dict and written == len(value):  # the usual line: flat?
        for item in value.values():
            kind = type(item)
            if kind is float:  # orjson turns integers beyond 64 bits into floats
                if not -BIG < item < BIG:
                    return False
            elif kind is dict or kind is list:
                break
        else:
            return True
    return written == count_keys(value, limit)


def count_keys(value: Any, limit: int = MAX_DEPTH) -> int:
    """The number of object keys in ``value``, nested ones included; -1 when a float is
    so large that orjson may have turned a long integer into it (or is not finite), or
    when containers nest deeper than ``limit``.

    ``keys_agree`` compares it with the keys written in the raw text (a duplicate key is
    merged by orjson). A record is walked value by value (the usual call: one line of
    JSON); a list longer than ``WIDE`` is counted a level at a time (``_wide``)."""
    kind = type(value)
    if kind is not dict and kind is not list:  # a scalar: no keys (a huge float: see above)
        return -1 if kind is float and not -BIG < value < BIG else 0
    total, stack = 0, [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if depth > limit:
            return -1
        if type(item) is dict:
            total += len(item)
            item = item.values()
        elif len(item) > WIDE:
            wide = _wide(item, depth, limit)
            if wide < 0:
                return -1
            total += wide
            continue
        for inner in item:
            kind = type(inner)
            if kind is str:  # the usual value
                continue
            if kind is dict or kind is list:
                push((inner, depth + 1))
            elif kind is float and not -BIG < inner < BIG:
                return -1
    return total


def _wide(values: list[Any], depth: int, limit: int) -> int:
    """``count_keys`` of the items of a long list at ``depth``, one level of the tree at
    a time: each level's values chained in C, not visited one by one."""
    total, level = 0, values
    while True:
        types = list(map(type, level))
        kinds = set(types)
        # (the floats picked in C: a level may hold millions of values)
        if float in kinds and not floats_fit(level if kinds == {float} else list(
                compress(level, map(is_, types, repeat(float))))):
            return -1
        _, dicts, lists = split_kinds(level, kinds, strings=False)  # only containers count
        if not dicts and not lists:
            return total
        depth += 1
        if depth > limit:
            return -1
        total += sum(map(len, dicts))
        level = list(chain(chain.from_iterable(map(dict.values, dicts)),
                           chain.from_iterable(lists)))


def floats_fit(floats: list[float]) -> bool:
    """Whether each of ``floats`` (that orjson read) lies within 64-bit integers: orjson
    turns a longer integer into a float (NaN would fail too)."""
    return all(map(BIG.__gt__, map(abs, floats)))


def deeper_than_allowed(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether containers in ``value`` nest deeper than ``limit`` (a level at a time,
    no recursion): what the strict decoders accept must not go deeper than what the fast
    path accepts, nor than the engine can walk and write."""
    level, depth = [value], 0
    while level:
        containers = [v for v in level if type(v) is dict or type(v) is list]
        if not containers:
            return False
        depth += 1
        if depth > limit:
            return True
        level = list(chain.from_iterable(v.values() if type(v) is dict else v
                                         for v in containers))
    return False
