"""``make bench``: speed and memory of learnexport against its targets, in one run.

* export: ``learnexport export`` on generated ``typical`` and ``large`` samples; wall time
  and peak RSS of the largest process (GNU time), median of 3 runs;
* apply: ``learnexport apply`` of the anchors' workload (hash one field, replace one, drop
  one, on 100,000 flat records) and, interleaved in the same run, a hand-written Python
  loop doing the same with the same JSON library (orjson): the ratio of the medians;
* scaling: export time and peak memory at 1x, 2x, 4x, 8x the typical sample's streamed
  sources (analytics lines and task memory), so growth is visible;
* where apply's time goes: its stages timed in this process (read, rules, leak check,
  encode), next to the hand loop's, so the price of each stage is visible.

Peak memory is that of the largest process (GNU time); a big export reads its streams in
forked processes (engine/parallel.py), so the sum over all of them is sampled too (PSS:
pages the children share with the parent are counted once). The package's bytecode is
compiled first, as an install does (this machine sets PYTHONDONTWRITEBYTECODE).

Prints a table with each target beside its figure and writes ``bench/results/bench.json``.
The machine is shared and noisy: medians and ratios are what to read, not single runs.
Usage: ``python bench/run.py [--quick]`` (quick: one timed run of each, no large sample, no
scaling).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results"
BIN = Path(sys.executable).parent
LEARNEXPORT = str(BIN / "learnexport")
sys.path.insert(0, str(HERE))

from records import BASELINE, POLICY, make_records  # noqa: E402

PRESIDIO_RECORDS_PER_S = 26_000  # presidio-structured, measured here (shared/docs/anchors.md)


GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def measure(cmd: list[str], *, tree: bool = False) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, peak PSS of the whole process tree in MB, or 0) of
    one child process. The RSS peak comes from GNU time where there is one (a forked
    child's own ru_maxrss starts at its parent's size). With ``tree``, the tree's PSS is
    sampled every 20 ms; that run's time is not to be used: reading a process's
    smaps_rollup holds its memory map's lock, which slowed apply by 0.06 s and the hand
    loop by 0.12 s (median of 5), so timed runs do not sample."""
    prefix = ["/usr/bin/time", "-f", "peak-kb %M"] if GNU_TIME else []
    start = time.perf_counter()
    proc = subprocess.Popen(prefix + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_kb = 0
    while tree and proc.poll() is None:
        tree_kb = max(tree_kb, sum(_pss_kb(pid) for pid in _tree(proc.pid)))
        time.sleep(0.02)
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.wait()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    peaks = [line.split()[1] for line in err.splitlines() if line.startswith("peak-kb ")]
    peak_kb = int(peaks[-1]) if peaks else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kb / 1024, tree_kb / 1024


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc; just ``pid`` elsewhere)."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for kid in kids for p in _tree(int(kid)))]


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def median_of(cmd: list[str], runs: int, *, tree: bool = False) -> dict[str, float]:
    """Medians of ``runs`` timed runs; with ``tree``, one more run samples the PSS."""
    walls, peaks, _ = zip(*(measure(cmd) for _ in range(runs)), strict=True)
    out = {"seconds": statistics.median(walls), "peak_mb": statistics.median(peaks),
           "runs": runs, "all_seconds": [round(w, 3) for w in walls]}
    if tree:
        out["tree_pss_mb"] = measure(cmd, tree=True)[2]
    return out


def sample(size: str) -> Path:
    root = WORK / f"sample-{size}"
    if not (root / ".tapps-agents").exists():
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([LEARNEXPORT, "sample", str(root), "--size", size, "--seed", "1"],
                       check=True, stdout=subprocess.DEVNULL)
    return root


def export_cmd(project: Path) -> list[str]:
    return [LEARNEXPORT, "export", str(project), "--yes", "-o", str(WORK / "export.json")]


def bench_export(sizes: list[str], runs: int) -> dict[str, dict[str, float]]:
    return {size: median_of(export_cmd(sample(size)), runs, tree=True) for size in sizes}


def bench_apply(runs: int) -> dict[str, float]:
    data = WORK / "records.json"
    if not data.exists():
        make_records(data)
    policy, baseline, key = WORK / "records.yaml", WORK / "baseline.py", WORK / "key"
    policy.write_text(POLICY)
    baseline.write_text(BASELINE)
    if not key.exists():
        subprocess.run([LEARNEXPORT, "key", "new", str(key)], check=True,
                       stdout=subprocess.DEVNULL)
    engine = [LEARNEXPORT, "apply", "--policy", str(policy), str(data), "-o",
              str(WORK / "engine-out.json"), "--hash-key-file", str(key)]
    hand = [sys.executable, str(baseline), str(data), str(WORK / "hand-out.json"), str(key)]
    engine_s, hand_s = [], []
    for _ in range(runs):  # interleaved, so both see the same machine
        engine_s.append(measure(engine)[0])
        hand_s.append(measure(hand)[0])
    stages = apply_stages(data, policy, key, runs)
    same = _digest(WORK / "engine-out.json") == _digest(WORK / "hand-out.json")
    engine_m, hand_m = statistics.median(engine_s), statistics.median(hand_s)
    return {"records": 100_000, "megabytes": round(data.stat().st_size / 2**20, 1),
            "engine_seconds": engine_m, "baseline_seconds": hand_m,
            "ratio": engine_m / hand_m, "records_per_s": 100_000 / engine_m,
            "hand_records_per_s": 100_000 / hand_m,
            "same_output": same, "runs": runs, "stages": stages,
            "engine_all_seconds": [round(x, 3) for x in engine_s],
            "hand_all_seconds": [round(x, 3) for x in hand_s]}


STAGES = """\
import json, statistics, sys, time
t0 = time.perf_counter()
from learnexport import docio, keys, leakcheck
from learnexport.applier import apply_policy
from learnexport.policy import load_policy
from pathlib import Path
imported = time.perf_counter() - t0
data, policy_file, key_file, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
policy = load_policy(Path(policy_file))
key = keys.resolve(policy.hash.key, policy.base_dir, Path(key_file), where=None).secret
rows = []
for _ in range(runs):
    t = [time.perf_counter()]
    document = docio.read_document(data); t.append(time.perf_counter())
    result = apply_policy(policy, document, key=key, copy=False); t.append(time.perf_counter())
    leakcheck.enforce(result.document, tainted=result.tainted, key=key, allow=policy.allow,
                      produced=result.produced | policy.literals); t.append(time.perf_counter())
    docio.encode_json(result.document); t.append(time.perf_counter())
    rows.append([b - a for a, b in zip(t, t[1:])])
    del document, result
names = ["read and parse (strict)", "rules and sweep", "leak check", "encode"]
out = {"import": imported}
out.update({n: statistics.median(r[i] for r in rows) for i, n in enumerate(names)})
print(json.dumps(out))
"""


def apply_stages(data: Path, policy: Path, key: Path, runs: int) -> dict[str, float]:
    """apply's stages timed in one process (median of ``runs``): where the time goes."""
    script = WORK / "stages.py"
    script.write_text(STAGES)
    done = subprocess.run([sys.executable, str(script), str(data), str(policy), str(key),
                           str(runs)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def _digest(path: Path) -> str:
    """A file's SHA-256, read in chunks (the parent stays small: see measure)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scaled(factor: int) -> Path:
    """The typical sample with its streamed sources repeated ``factor`` times."""
    root = WORK / f"typical-x{factor}"
    if (root / ".tapps-agents").exists():
        return root
    shutil.copytree(sample("typical"), root)
    tapps = root / ".tapps-agents"
    for path in sorted((tapps / "analytics" / "history").glob("*.jsonl")):
        path.write_bytes(path.read_bytes() * factor)
    memory = tapps / "memory" / "memories.json"
    body = memory.read_text().strip()[1:-1].strip()  # the array's elements, as written
    memory.write_text("[" + ",\n".join([body] * factor) + "]\n")
    return root


def bench_scaling(runs: int) -> dict[str, dict[str, float]]:
    return {f"{k}x": median_of(export_cmd(scaled(k)), runs) for k in (1, 2, 4, 8)}


def table(results: dict[str, object]) -> str:
    rows = [("figure", "measured", "target", "met")]
    export = results["export"]
    assert isinstance(export, dict)
    for size, limit_s, limit_mb in (("typical", 1.0, 60), ("large", 10.0, 150)):
        if size in export:
            fig = export[size]
            rows.append((f"export {size}: time", f"{fig['seconds']:.2f} s", f"< {limit_s:g} s",
                         _yes(fig["seconds"] < limit_s)))
            rows.append((f"export {size}: peak RSS", f"{fig['peak_mb']:.0f} MB",
                         f"< {limit_mb} MB", _yes(fig["peak_mb"] < limit_mb)))
            rows.append((f"export {size}: all processes (PSS)", f"{fig['tree_pss_mb']:.0f} MB",
                         f"< {limit_mb} MB", _yes(fig["tree_pss_mb"] < limit_mb)))
    ap = results["apply"]
    assert isinstance(ap, dict)
    rows.append(("apply 100k records: engine / hand loop", f"{ap['ratio']:.2f}x "
                 f"({ap['engine_seconds']:.2f} s / {ap['baseline_seconds']:.2f} s)", "<= 1.5x",
                 _yes(ap["ratio"] <= 1.5)))
    rows.append(("apply records/s vs presidio-structured", f"{ap['records_per_s']:,.0f}/s",
                 f">= {4 * PRESIDIO_RECORDS_PER_S:,}/s",
                 _yes(ap["records_per_s"] >= 4 * PRESIDIO_RECORDS_PER_S)))
    rows.append(("apply output equals the hand loop's", str(ap["same_output"]), "True",
                 _yes(bool(ap["same_output"]))))
    rows.append(("hand loop records/s (anchors: ~260,000)", f"{ap['hand_records_per_s']:,.0f}/s",
                 "", ""))
    stages = ap.get("stages")
    if isinstance(stages, dict):  # where the engine's time goes (one process, median)
        rows.extend((f"  apply stage: {name}", f"{seconds:.2f} s", "", "")
                    for name, seconds in stages.items())
    scaling = results.get("scaling")
    if isinstance(scaling, dict):
        one, eight = scaling["1x"], scaling["8x"]
        for k, fig in scaling.items():
            rows.append((f"scaling {k}: time, peak", f"{fig['seconds']:.2f} s, "
                         f"{fig['peak_mb']:.0f} MB", "", ""))
        rows.append(("scaling 8x/1x time (linear: about 8)",
                     f"{eight['seconds'] / one['seconds']:.1f}x", "<= 8x", _yes(
                         eight["seconds"] / one["seconds"] <= 8.0)))
        rows.append(("scaling 8x/1x peak memory (flat: about 1)",
                     f"{eight['peak_mb'] / one['peak_mb']:.2f}x", "<= 1.3x",
                     _yes(eight["peak_mb"] / one["peak_mb"] <= 1.3)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def _compile_package() -> None:
    """Bytecode for the installed package, as ``pip install`` writes it: without it each
    run compiles the modules again (this machine sets PYTHONDONTWRITEBYTECODE)."""
    where = subprocess.run([sys.executable, "-c", "import learnexport, os; "
                            "print(os.path.dirname(learnexport.__file__))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "compileall", "-q", where], check=True)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, no large sample")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    _compile_package()
    runs = 1 if args.quick else 3
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
        "export": bench_export(["typical"] if args.quick else ["typical", "large"],
                               runs),
    }
    if not args.quick:
        results["scaling"] = bench_scaling(1)
    results["apply"] = bench_apply(1 if args.quick else 5)  # the noisiest figure: 5 runs
    text = table(results)
    print(text)
    (RESULTS / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'bench.json'} (load average at start: "
          f"{results['machine']['load'][0]:.1f} on {os.cpu_count()} cpus)")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
