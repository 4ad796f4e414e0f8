"""Benchmark: ``learnexport aggregate`` over 2,000 exports on the local and Dask engines.

    .venv/bin/python bench/aggregate_bench.py [--exports 2000] [--repeat 3]

Eight real exports of generated ``small`` samples (the default policy, each project with its
own key) are the seeds; 2,000 variants are derived from them by perturbing every figure
deterministically (``random.Random(i)``), each with its own ``hash_key_id`` so that each
counts as a project, and every other one migrated to schema 1.1 (so the run migrates half
of them). Each engine aggregates all of them ``--repeat`` times; the table shows the median
and every run, and all engines must give the same bytes. The Dask engine is timed twice:
starting its own local cluster (what ``--engine dask`` does) and on a cluster already
running (``--scheduler``). Results: bench/results/aggregate.json.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from learnexport import __version__, docio, versions
from learnexport.api import export
from learnexport.fleet import aggregate
from learnexport.sample import generate

SEEDS = range(1, 9)
RESULTS = Path(__file__).resolve().parent / "results" / "aggregate.json"


def seed_exports(folder: Path) -> list[dict[str, Any]]:
    docs = []
    for seed in SEEDS:
        project = folder / f"seed-{seed}"
        generate(project, "small", seed)
        docs.append(export(project, write=False).document)
    return docs


def _rate(rng: random.Random, value: float | None) -> float | None:
    return None if value is None else round(min(1.0, max(0.0, value + rng.uniform(-.1, .1))), 4)


def _scale(rng: random.Random, count: int) -> int:
    return max(0, round(count * rng.uniform(0.5, 1.5)))


def _perturb_rows(rng: random.Random, rows: list[dict[str, Any]], counts: tuple[str, ...],
                  rates: tuple[str, ...]) -> list[dict[str, Any]]:
    kept = [row for row in rows if rng.random() > 0.1]  # some projects lack some rows
    for row in kept:
        for name in counts:
            row[name] = _scale(rng, row[name])
        for name in rates:
            row[name] = _rate(rng, row[name])
    return kept


def variant(base: dict[str, Any], index: int) -> dict[str, Any]:
    """Export ``index``: ``base`` with every figure moved a little, as another project."""
    rng, doc = random.Random(index), copy.deepcopy(base)
    doc["export_metadata"]["hash_key_id"] = hashlib.sha256(f"bench {index}".encode()
                                                           ).hexdigest()[:12]
    caps = doc["capability_metrics"]
    caps["capabilities"] = _perturb_rows(rng, caps["capabilities"], ("usage_count",),
                                         ("success_rate", "quality_score"))
    stats = doc["pattern_statistics"]
    for row in stats["by_type"]:
        row["patterns"] = _scale(rng, row["patterns"])
        row["anti_patterns"] = min(row["anti_patterns"], row["patterns"])
        row["mean_quality"] = _rate(rng, row["mean_quality"])
    stats["vulnerabilities"] = _perturb_rows(rng, stats["vulnerabilities"], ("patterns",), ())
    usage = doc["usage_patterns"]
    usage["agents"] = _perturb_rows(rng, usage["agents"], ("runs",), ("success_rate",))
    usage["workflows"] = _perturb_rows(rng, usage["workflows"], ("runs",), ("success_rate",))
    return versions.migrate(doc, "1.1", f"variant {index}") if index % 2 else doc


def write_exports(folder: Path, count: int) -> list[Path]:
    bases = seed_exports(folder)
    paths = []
    for index in range(count):
        path = folder / "exports" / f"export-{index:05d}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(docio.encode_json(variant(bases[index % len(bases)], index),
                                           pretty=False))
        paths.append(path)
    return paths


def timed(run: Callable[[], dict[str, Any]], repeat: int) -> tuple[list[float], bytes]:
    times, output = [], b""
    for _ in range(repeat):
        start = time.perf_counter()
        output = docio.encode_json(run())
        times.append(time.perf_counter() - start)
    return times, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import distributed  # the Dask extra: pip install -e '.[dask]'

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = write_exports(Path(tmp), args.exports)
        print(f"generated {len(paths)} exports in {time.perf_counter() - start:.1f} s "
              f"({sum(p.stat().st_size for p in paths) / 1e6:.1f} MB)", file=sys.stderr)
        runs: dict[str, tuple[list[float], bytes]] = {}
        runs["local"] = timed(lambda: aggregate(paths, engine="local"), args.repeat)
        runs["dask (own local cluster)"] = timed(lambda: aggregate(paths, engine="dask"),
                                                 args.repeat)
        with distributed.LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                                      processes=True, dashboard_address=None,
                                      silence_logs=logging.ERROR) as cluster:
            runs["dask (running cluster)"] = timed(
                lambda: aggregate(paths, engine="dask", scheduler=cluster.scheduler_address),
                args.repeat)
    outputs = {output for _, output in runs.values()}
    assert len(outputs) == 1, "the engines gave different results"
    report(runs, args, json.loads(outputs.pop()))


def report(runs: dict[str, tuple[list[float], bytes]], args: argparse.Namespace,
           result: dict[str, Any]) -> None:
    import dask

    print(f"\naggregate of {args.exports} exports, {os.cpu_count()} cores, median of "
          f"{args.repeat} (identical output on every engine)")
    print(f"{'engine':<26} {'median s':>9} {'exports/s':>10}  runs (s)")
    for name, (times, _) in runs.items():
        median = statistics.median(times)
        print(f"{name:<26} {median:>9.2f} {args.exports / median:>10.0f}  "
              + ", ".join(f"{t:.2f}" for t in times))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "aggregate", "exports": args.exports, "repeat": args.repeat,
        "projects": result["aggregate"]["projects"],
        "migrated": result["aggregate"]["migrated"],
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "learnexport": __version__,
                    "dask": dask.__version__},
        "engines": {name: {"median_s": round(statistics.median(times), 3),
                           "runs_s": [round(t, 3) for t in times],
                           "exports_per_s": round(args.exports / statistics.median(times), 1)}
                    for name, (times, _) in runs.items()},
        "identical_output": True,
    }, indent=2) + "\n", "utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
