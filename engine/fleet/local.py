"""The local engine: the exports split into chunks over a process pool, one worker a core."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..errors import LearnexportError
from . import combine
from .combine import Item, Partial

CHUNKS_PER_WORKER = 4  # small enough to balance uneven exports, large enough to batch


def chunks(items: Sequence[Item], count: int) -> list[list[Item]]:
    """``items`` in at most ``count`` contiguous chunks of near-equal size."""
    count = max(1, min(count, len(items)))
    size, extra = divmod(len(items), count)
    out, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def summarize(items: Sequence[Item], *, workers: int | None = None) -> Partial:
    """The merged figures of ``items``, computed on ``workers`` processes (default: all
    cores; 1 computes in this process)."""
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(items) <= 1:
        return combine.contribute_all(items)
    parts = chunks(items, count * CHUNKS_PER_WORKER)
    try:
        with ProcessPoolExecutor(max_workers=min(count, len(parts))) as pool:
            return combine.merge_all(pool.map(combine.contribute_all, parts))
    except BrokenProcessPool:
        raise LearnexportError("a worker process died while aggregating (out of memory?)",
                               hint="retry with fewer workers, or use --engine dask") from None
