"""Record streams: sources read one record at a time, never held whole.

A ``RecordStream`` stands in the collected document where a list of records would be.
Iterating it reads its files again from the start (JSON lines, or a JSON array parsed
element by element), yields each record that passes the collector's checks, and, when a
pass completes, writes the source's record count, status and problems into its entry of
``collection.sources``. The engine folds streams record by record (see ``streaming``);
``list(stream)`` materializes one where a whole list is needed.

Parsing is fast and still strict: orjson parses each record (it refuses NaN, Infinity and
out-of-range numbers); duplicate keys, which orjson would silently merge, are caught by
comparing the keys parsed with the keys written in the raw text (``columns.keys_agree``),
and any record that fails either check is parsed again by the collector's strict decoder
for the exact problem.
"""

from __future__ import annotations

import codecs
import gc
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import orjson

from .columns import (
    BIG,
    MAX_DEPTH,
    RECORD_DEPTH,
    Column,
    columns,
    count_keys,
    floats_fit,
    keys_agree,
    spaced_key,
)

MIB = 1024 * 1024
PROGRESS_EVERY = 10_000  # records between two progress calls
CHUNK = MIB
_WS = " \t\r\n"
_LINE_DEPTH = 500  # the most brackets in a line read by orjson: far from any depth limit
_ENDS = re.compile(r"[\s,\]]")  # what may end a number that is an element of an array
_KINDS = {"{": "an object", '"': "a string", "t": "a boolean", "f": "a boolean", "n": "null"}


def fast_loads(raw: bytes, limit: int = MAX_DEPTH) -> Any | None:
    """The record in ``raw`` when orjson parses it and ``trusted`` takes it; None when the
    strict decoder must look (for the exact value, or the exact problem)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return trusted(raw, value, limit)


def trusted(raw: bytes, value: Any, limit: int = MAX_DEPTH) -> Any | None:
    """``value``, parsed by orjson from ``raw``, when no key can have been lost to a
    duplicate, no integer beyond 64 bits turned into a float, and it nests no deeper than
    ``limit``; else None."""
    kind = type(value)
    if kind is dict or kind is list:
        return value if keys_agree(raw, value, limit) else None
    return None if kind is float and not -BIG < value < BIG else value


def loads_lines(lines: list[bytes]) -> list[Any] | None:
    """What orjson reads in each of ``lines`` (one JSON text each); None when it refuses
    one of them."""
    try:
        return list(map(orjson.loads, lines))
    except orjson.JSONDecodeError:
        return None


def objects_agree(lines: list[bytes], records: list[Any], limit: int = MAX_DEPTH
                  ) -> list[Column] | None:
    """The columns of ``records`` (parsed by orjson from ``lines``) when each is an object
    that ``trusted`` takes as it is; else None (then each line is checked on its own, and
    any problem is found and worded there).

    The checks are those of ``trusted``, made once for the whole block, a column at a
    time in C, instead of once a line: a line writes at least as many ``":`` as orjson
    keeps keys, so the block's count equals the keys of all its objects only when no line
    lost a key to a duplicate. Flat objects have their floats checked a column at a time;
    nested ones are counted (and their depth checked against ``limit``) by
    ``count_keys``."""
    if set(map(type, records)) != {dict}:
        return None
    block = b"\n".join(lines)
    if spaced_key(block):
        return None
    table = columns(records)
    kinds = set().union(*(types for _, _, types in table))
    if dict in kinds or list in kinds:
        keys = count_keys(records, limit + 1)
    elif float in kinds and not all(
            floats_fit(values if types == {float} else [v for v in values if type(v) is float])
            for _, values, types in table if float in types):
        return None
    else:
        keys = sum(map(len, records))
    return table if block.count(b'":') == keys else None


class RecordStream:
    """A re-iterable, lazily read list of records of one source."""

    quiet = False  # no progress calls at all (set in a forked reader: the terminal is not its)

    def __init__(self, name: str, entry: dict[str, Any], reader: Callable[[], Iterator[Any]],
                 progress: Callable[[str, int], None] | None = None, size: int = 0,
                 source: RecordStream | None = None) -> None:
        self.name = name
        self.entry = entry  # the source's entry in collection.sources (its reader updates
        self._reader = reader  # problems and status; a completed pass sets the count)
        self.progress = progress
        self.size = size  # bytes of its files when collected: what a pass will read
        self.source = source  # the stream this one filters, if it is a filtered view

    def entries(self) -> list[dict[str, Any]]:
        """The entries a pass over this stream updates: its own, and its source's."""
        return [self.entry, *(self.source.entries() if self.source is not None else ())]

    def __iter__(self) -> Iterator[Any]:
        count = 0
        tick = None if RecordStream.quiet else self.progress
        for record in self._reader():
            count += 1
            if tick is not None and count % PROGRESS_EVERY == 0:
                tick(self.name, count)
            yield record
        self.entry["records"] = count
        if tick is not None:
            tick(self.name, count)

    def __repr__(self) -> str:
        return f"RecordStream({self.name!r})"


@contextmanager
def gc_paused() -> Iterator[None]:
    """JSON records hold no reference cycles; the cyclic collector only rescans millions
    of them again and again (a third of the time of a large collection). Paused while
    records flow, restored after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def materialize(value: Any, limit: int | None = None, cut: list[int] | None = None) -> Any:
    """Replace every stream inside ``value`` (objects and lists) by the list it reads. With
    ``limit``, by its first ``limit`` records: the stream is still read whole (its source's
    counts stay complete), and the records left out of each stream cut go to ``cut``."""
    if isinstance(value, RecordStream):
        if limit is None:
            return list(value)
        kept: list[Any] = []
        count = 0
        for record in value:
            count += 1
            if count <= limit:
                kept.append(record)
        if count > limit and cut is not None:
            cut.append(count - limit)
        return kept
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list | RecordStream):
                value[key] = materialize(item, limit, cut)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list | RecordStream):
                value[index] = materialize(item, limit, cut)
    return value


class ArrayReader:
    """The elements of a JSON array read from a binary file in chunks.

    ``elements()`` yields ``(value, where, problem)``: a parsed element with problem None
    (and no ``where``: counting lines costs, and is only needed for a problem);
    its raw text with problem ``"strict"`` (and no ``where`` either) when a duplicate
    key or a non-finite number may hide in it (the caller decodes it strictly, and names
    the element by its index); or None and the problem at the first
    damage, where parsing stops (the elements before it are kept). An element longer than
    ``limit`` characters stops the file too.
    """

    def __init__(self, fh: BinaryIO, limit: int) -> None:
        self.fh = fh
        self.limit = limit
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.line = 1  # line number of buf[0]
        self.eof = False
        self.offset = 0  # bytes read so far
        self.json = json.JSONDecoder()
        self.mixed_until = 0  # buf[:mixed_until] holds no line that is one whole element

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(CHUNK)
        try:
            text = self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            byte = chunk[exc.start] if exc.start < len(chunk) else 0
            raise _Damage(f"not UTF-8 (byte 0x{byte:02x} at offset "
                          f"{self.offset + exc.start})") from None
        self.offset += len(chunk)
        if not chunk:
            self.eof = True
            self.buf += text
            return False
        consumed = self.buf[: self.pos]
        self.line += consumed.count("\n")
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        self.mixed_until = 0
        return True

    def _skip_ws(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def where(self, pos: int | None = None) -> str:
        at = self.pos if pos is None else pos
        before = self.buf[:at]
        line = self.line + before.count("\n")
        column = at - (before.rfind("\n") + 1) + 1
        return f"line {line} column {column}"

    def elements(self) -> Iterator[tuple[Any, str, str | None]]:
        try:
            yield from self._elements()
        except _Damage as damage:
            yield None, "", str(damage)

    def _elements(self) -> Iterator[tuple[Any, str, str | None]]:
        first = self._skip_ws()
        if first != "[":
            kind = _KINDS.get(first, "a number" if first in "-0123456789" else "not JSON")
            yield None, "", ("empty file" if first == "" else f"not a JSON array ({kind})")
            return
        self.pos += 1
        expect_value = True
        while True:
            char = self._skip_ws()
            if char == "]" and (not expect_value or self._empty_so_far()):
                self.pos += 1
                if self._skip_ws() != "":
                    yield None, self.where(), "not JSON (extra data after the array)"
                return
            if char == "" or (expect_value and char in ",]") or (not expect_value and char != ","):
                yield None, self.where(), ("not JSON (unexpected end of file)" if char == ""
                                           else f"not JSON (unexpected {char!r})")
                return
            if not expect_value:
                self.pos += 1
                expect_value = True
                continue
            item = self._element()
            yield item
            if item[0] is None and item[2] is not None:  # damage (not a null element):
                return  # the rest of the file cannot be trusted
            expect_value = False

    def _empty_so_far(self) -> bool:
        return self.buf[: self.pos].rstrip(_WS).endswith("[")

    def _element(self) -> tuple[Any, str, str | None]:
        start = self.pos
        line = self._line_element(start)
        if line is not None:
            return line
        while True:
            try:
                value, end = self.json.raw_decode(self.buf, self.pos)
                # a value ending with the buffer may go on; so may a number that nothing
                # ends in the buffer (``1e`` of ``1e5``: the decoder reads ``1``)
                cut = end >= len(self.buf) or (type(value) in (int, float)
                                               and _ENDS.search(self.buf, end) is None)
            except json.JSONDecodeError as exc:
                # near the end of the buffer the element may just be cut by the chunk
                cut = exc.pos >= len(self.buf) - 16 or "Unterminated" in exc.msg
                if not (cut and len(self.buf) - start < self.limit and self._more()):
                    return None, self.where(exc.pos), f"not JSON ({exc.msg})"
                start = self.pos
                continue
            except RecursionError:
                return None, self.where(start), "nested too deeply"
            except ValueError as exc:  # not a decode error: an integer of 4,300+ digits
                return None, self.where(start), f"not JSON ({exc})"
            if cut and len(self.buf) - start < self.limit and self._more():
                start = self.pos
                continue
            text = self.buf[start:end]
            self.pos = end
            # a float out of range (NaN, Infinity and 1e400 too) also sends the element
            # to the strict decoder (keys_agree)
            if not keys_agree(text.encode(), value, RECORD_DEPTH):
                return text, "", "strict"  # the caller decodes it strictly
            return value, "", None


    def _line_element(self, start: int) -> tuple[Any, str, str | None] | None:
        """The element at ``start`` when it fills the rest of its line (the usual layout,
        one element a line), parsed by orjson; None when that is not so or orjson refuses
        it: the general parser then decides, and words any problem. orjson refuses NaN,
        Infinity and lone surrogates, which json accepts; a long integer it turns into
        a float, which ``keys_agree`` sends to the strict decoder. Only a text with few
        brackets is tried (a short one has few), so that neither parser can run out of
        nesting depth where the other does not. A line found not to be one element (an
        array written on one line) is not searched again for each element on it."""
        if start < self.mixed_until:
            return None
        end = self.buf.find("\n", start)
        if end == -1:  # the line goes on in the next chunk
            self.mixed_until = len(self.buf)
            return None
        text = self.buf[start:end].rstrip(_WS)
        if text.endswith(","):
            text = text[:-1]
        if len(text) > 2 * _LINE_DEPTH and text.count("{") + text.count("[") > _LINE_DEPTH:
            return None
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.mixed_until = end
            return None
        self.pos = start + len(text)
        if not keys_agree(text.encode(), value, RECORD_DEPTH):
            return text, "", "strict"  # the caller decodes it strictly
        return value, "", None


class _Damage(ValueError):
    """Bytes that cannot be read as text: the file stops here."""

