"""The Dask engine: the same computation as a dask bag on a Dask cluster.

The exports are read here, scattered to the workers in partitions, and each partition is
mapped with ``combine.contribute`` and reduced with ``combine.merge_all``: the functions
the local engine runs, so both give the same result. Workers need learnexport installed
(``pip install 'learnexport[dask]'``), not the files. Without ``--scheduler`` a local
cluster (one worker process a core) is started for the run and stopped after it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import InputError, UsageError
from . import combine
from .combine import Item, Partial
from .local import chunks

INSTALL_HINT = "install the extra: pip install 'learnexport[dask]'"
PARTITIONS_PER_THREAD = 4
CONNECT_TIMEOUT = "10s"


def _modules() -> tuple[Any, Any]:
    """``dask.bag`` and ``distributed``, or a UsageError saying how to get them."""
    try:
        import dask.bag as bag
        import distributed
    except ImportError as exc:
        missing = (exc.name or "dask").split(".")[0]
        raise UsageError(f"--engine dask needs the optional packages dask and distributed, "
                         f"and {missing} is not installed", hint=INSTALL_HINT) from None
    return bag, distributed


@contextlib.contextmanager
def _workers_ignore_interrupts() -> Iterator[None]:
    """Start the local cluster's worker processes with SIGINT ignored (the one signal
    disposition a new process inherits): a Ctrl-C goes to the whole process group, and
    each worker printed its own KeyboardInterrupt traceback after the command's one-line
    message. The command itself reports the interrupt and stops the cluster. (A Ctrl-C
    while the workers start is ignored; the next one is not.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_LOGGERS = ("distributed", "asyncio")


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """The loggers' levels as they were, once the cluster has stopped (an in-process
    caller keeps its logs after a run that ``_quiet_when_stopped`` silenced)."""
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _quiet_when_stopped() -> Iterator[None]:
    """An interrupt or error cuts the cluster's work short; its scheduler, which runs in
    this process, then logs each broken operation with a traceback while it stops. The
    command reports what happened in one line: the cluster's logs are silenced first."""
    try:
        yield
    except BaseException:
        for name in _LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        raise


@contextlib.contextmanager
def _client(distributed: Any, scheduler: str | None, workers: int | None) -> Iterator[Any]:
    if scheduler is None:
        with _workers_ignore_interrupts(), warnings.catch_warnings():
            # its HTTP server moves to a free port when another cluster holds 8787, with a
            # warning on stderr; this run serves no page, so there is nothing to say
            warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
            cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                processes=True, dashboard_address=None,
                silence_logs=logging.CRITICAL)  # a worker cut off by a stop logs it
        with _logging_restored(), cluster, distributed.Client(cluster) as client, \
                _quiet_when_stopped():
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                         hint="start one with `dask scheduler` and `dask worker ADDRESS`, "
                         "or leave out --scheduler to use a local cluster") from None
    with client:
        yield client


def summarize(items: Sequence[Item], *, scheduler: str | None = None,
              workers: int | None = None) -> Partial:
    """The merged figures of ``items``, computed as a dask bag on the cluster."""
    bag, distributed = _modules()
    if not items:
        return combine.merge_all(())
    with _client(distributed, scheduler, workers) as client:
        threads = sum(client.nthreads().values()) or 1
        scattered = client.scatter(chunks(items, threads * PARTITIONS_PER_THREAD))
        exports = bag.from_delayed(scattered)  # the futures must stay referenced till the end
        total = exports.map(combine.contribute).reduction(combine.merge_all, combine.merge_all)
        result = client.compute(total).result()
        del scattered
        return result
