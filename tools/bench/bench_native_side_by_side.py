#!/usr/bin/env python3
"""Native decode side by side (docs/performance.md, "Native models"): builds the pinned random
Qwen3-MoE checkpoint (make_bench_checkpoint.py), then times, in one run on the same weights and
prompt shape (64 printable-byte tokens, batch 1, float32, greedy), with 1 and 2 threads:

- moeroute: build/dev/bench/bench_native (prefill, KV-cache decode, recorder overhead, roofline);
- transformers: tools/bench/bench_native_transformers.py (generate(), with and without router hooks).

    VENV/bin/python tools/bench/bench_native_side_by_side.py [--out /tmp/bench212] [--repeats 5]
        [--new-tokens 64] [--bench build/dev/bench/bench_native]

VENV has tools/bench/requirements-native.txt (torch, transformers; not CI's). llama.cpp is not
timed here: no packaged llama.cpp builds on this machine without a source download beyond the
registries (docs/performance.md says what was tried). Prints one table (Markdown) and the load
average before and after.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(cmd: list[str]) -> str:
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(out, file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/bench212")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--bench", default=str(ROOT / "build/dev/bench/bench_native"))
    args = ap.parse_args()
    subprocess.run([sys.executable, str(HERE / "make_bench_checkpoint.py"), args.out], check=True)
    rows = []
    print(f"load average before: {load()}", flush=True)
    for threads in (1, 2):
        out = run([args.bench, "--model", args.out, "--threads", str(threads), "--repeats", str(args.repeats),
                   "--new-tokens", str(args.new_tokens), "--rerun", "0"])
        tps = {m.group(1).strip(): (float(m.group(2)), float(m.group(3)))
               for m in re.finditer(r"^\s+(.+?)\s+prefill\s+([\d.]+) tokens/s\s+decode\s+([\d.]+)", out, re.M)}
        roof = re.search(r"→ ([\d.]+) tokens/s; no recorder reaches ([\d.]+) %", out)
        hf = run([sys.executable, str(HERE / "bench_native_transformers.py"), args.out, "--threads", str(threads),
                  "--repeats", str(args.repeats), "--new-tokens", str(args.new_tokens)])
        hf_tps = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\s+(no hooks|router hooks)\s+decode\s+([\d.]+)", hf, re.M)}
        rows.append((threads, tps, roof, hf_tps))
    print(f"load average after: {load()}")
    print("| threads | moeroute prefill | moeroute decode | + recording top-k | roofline (fraction) | transformers decode | + router hooks | moeroute ÷ transformers+hooks |")
    print("|---|---|---|---|---|---|---|---|")
    for threads, tps, roof, hf in rows:
        prefill, decode = tps["no recorder"]
        rec = tps["recording top-k"][1]
        print(f"| {threads} | {prefill:.0f} tok/s | {decode:.1f} tok/s | {rec:.1f} tok/s | {float(roof.group(1)):.0f} tok/s "
              f"({roof.group(2)} %) | {hf['no hooks']:.1f} tok/s | {hf['router hooks']:.1f} tok/s | "
              f"{rec / hf['router hooks']:.1f}× |")


if __name__ == "__main__":
    main()
