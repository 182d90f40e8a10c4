#!/usr/bin/env python3
"""Import throughput of the llama.cpp expert log (docs/performance.md, "Import"), side by side
in one run on the same file: moeroute's importer + per-layer expert counting (bench/bench_import)
against the seed's approach (seed 003, expert_frequency.py: pandas.read_csv, then per layer a
Counter over the split expert_ids strings). Both sides must produce the same counts (checksum).

The seed publishes only expert_frequency.py's README, not its code; the pandas side is the
implementation its README describes (read the CSV, count ids per layer) in the idiomatic form.

  VENV/bin/python tools/bench/bench_import.py BUILD_DIR [--mb 200] [--big-mb 1000] [--work DIR]
  (VENV with tools/bench/requirements-bench.txt)
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd


def cpu_seconds_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ours(binary, mode, path, repeats):
    c0, t0 = cpu_seconds_children(), time.perf_counter()
    r = subprocess.run([binary, mode, str(path), str(repeats)], check=True, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, cpu_seconds_children() - c0
    out = json.loads(r.stdout)
    out["cpu_seconds_per_pass"] = cpu / repeats  # includes process start (~ms)
    out["wall_seconds_all"] = wall
    return out


def seed_pandas(path):
    c0, t0 = time.process_time(), time.perf_counter()
    df = pd.read_csv(path)
    counts = {}
    for layer_id, group in df.groupby("layer_id"):
        counter = Counter()
        for ids in group["expert_ids"]:
            counter.update(int(x) for x in ids.split())
        counts[layer_id] = counter
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # Same checksum as bench_import: layer rows in increasing layer order, 160 experts each.
    checksum = total = 0
    for row, layer in enumerate(sorted(counts)):
        for e, n in counts[layer].items():
            checksum += n * (row * 160 + e + 1)
            total += n
    return {"wall_seconds": wall, "cpu_seconds": cpu, "selections": total, "checksum": checksum}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", type=Path)
    ap.add_argument("--mb", type=float, default=200, help="size of the file both sides read")
    ap.add_argument("--big-mb", type=float, default=1000, help="a larger file for moeroute alone (0 = skip)")
    ap.add_argument("--work", type=Path, default=Path("/tmp"))
    a = ap.parse_args()
    binary = a.build / "bench" / "bench_import"
    path = a.work / "moeroute_bench_expert.log"
    subprocess.run([binary, "generate", str(path), str(a.mb)], check=True, capture_output=True)
    size = path.stat().st_size
    result = {"file_bytes": size, "lscpu": subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("\n")[:20],
              "loadavg_before": os.getloadavg()}
    result["moeroute_import_and_count"] = ours(binary, "count", path, 3)
    result["moeroute_import_only"] = ours(binary, "import", path, 3)
    result["pandas_seed"] = seed_pandas(path)
    result["loadavg_after"] = os.getloadavg()
    m, p = result["moeroute_import_and_count"], result["pandas_seed"]
    assert m["selections"] == p["selections"] and m["checksum"] == p["checksum"], "the two sides counted differently"
    result["ratio_wall"] = p["wall_seconds"] / m["best_seconds"]
    result["ratio_cpu"] = p["cpu_seconds"] / m["cpu_seconds_per_pass"]
    result["moeroute_mb_per_cpu_second"] = size / 1e6 / m["cpu_seconds_per_pass"]
    result["moeroute_import_mb_per_cpu_second"] = size / 1e6 / result["moeroute_import_only"]["cpu_seconds_per_pass"]
    result["pandas_mb_per_cpu_second"] = size / 1e6 / p["cpu_seconds"]
    if a.big_mb > 0:
        big = a.work / "moeroute_bench_expert_big.log"
        subprocess.run([binary, "generate", str(big), str(a.big_mb)], check=True, capture_output=True)
        result["moeroute_big_import_only"] = ours(binary, "import", big, 2)
        result["moeroute_big_import_mb_per_cpu_second"] = big.stat().st_size / 1e6 / result["moeroute_big_import_only"]["cpu_seconds_per_pass"]
        big.unlink()
    path.unlink()
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
