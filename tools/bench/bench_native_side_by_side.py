#!/usr/bin/env python3
"""Native decode side by side (docs/performance.md, "Native models"): builds the pinned random
Qwen3-MoE checkpoint (make_bench_checkpoint.py), builds llama.cpp's llama-bench from the pinned
llama-cpp-python sdist (build_llama_cpp.sh, once, cached under build/llama.cpp), converts the
checkpoint to GGUF f32 and f16 with llama.cpp's own converter (llama_cpp_convert.py), then times,
in one run on the same weights, prompt 64 tokens, batch 1, with 1 and 2 threads:

- moeroute: build/dev/bench/bench_native (no recorder, recording top-k, recording logits; the
  roofline measured in the same call), with float32 weights and with the weight matrices stored
  in float16 (--weight-dtype float16: rounded to nearest at load, as llama.cpp's f16 GGUF is) and
  in bfloat16;
- transformers: bench_native_transformers.py (generate(), plain and with router hooks);
- llama.cpp: llama-bench -p 64 -n 64 -t N on the f32 and the f16 GGUF.

    VENV/bin/python tools/bench/bench_native_side_by_side.py [--out build/bench212] [--rounds 3]
        [--new-tokens 64] [--bench build/dev/bench/bench_native] [--llama-cache build/llama.cpp]

VENV has tools/bench/requirements-native.txt (torch, transformers, tokenizers; not CI's). The
machine may be shared, so the measurements are interleaved: each round runs every (tool, threads)
once, in an order rotated from round to round, and the table gives medians over the rounds with
the range of the 1-minute load average seen at the start of that row's runs. Prints the machine,
then one Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROMPT = 64
ABBREV = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}


def run(cmd: list[str]) -> str:
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(out, file=sys.stderr, flush=True)
    return out


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], check=True, capture_output=True, text=True).stdout
    m = re.search(r"^Model name:\s+(.+)$", out, re.M)
    return f"{m.group(1).strip() if m else 'unknown CPU'}, {os.cpu_count()} logical CPUs"


class Bench:
    """The three tools; each method times one (tool, threads) once and returns
    {row name: (prefill tok/s, decode tok/s)}."""

    def __init__(self, args: argparse.Namespace, llama_bench: str, gguf: Path):
        self.args, self.llama_bench, self.gguf = args, llama_bench, gguf
        # (threads, weights) → [(roofline tok/s, % reached)]
        self.roofline: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)

    def moeroute(self, weights: str, threads: int) -> dict[str, tuple[float, float]]:
        out = run([self.args.bench, "--model", str(self.args.out), "--weight-dtype", weights, "--threads", str(threads),
                   "--repeats", "1", "--prompt-tokens", str(PROMPT), "--new-tokens", str(self.args.new_tokens),
                   "--rerun", "0"])
        label = "moeroute" if weights == "float32" else f"moeroute {ABBREV[weights]} weights"
        rows = {f"{label}, {m.group(1).strip()}": (float(m.group(2)), float(m.group(3)))
                for m in re.finditer(r"^\s+(.+?)\s+prefill\s+([\d.]+) tokens/s\s+decode\s+([\d.]+)", out, re.M)}
        roof = re.search(r"→ ([\d.]+) tokens/s; no recorder reaches ([\d.]+) %", out)
        if len(rows) != 3 or not roof:
            sys.exit(f"bench_native: unexpected output:\n{out}")
        self.roofline[(threads, weights)].append((float(roof.group(1)), float(roof.group(2))))
        return rows

    def transformers(self, threads: int) -> dict[str, tuple[float, float]]:
        out = run([sys.executable, str(HERE / "bench_native_transformers.py"), str(self.args.out), "--threads",
                   str(threads), "--repeats", "1", "--prompt-tokens", str(PROMPT),
                   "--new-tokens", str(self.args.new_tokens)])
        rows = {f"transformers, {m.group(1)}": (float(m.group(3)), float(m.group(2))) for m in
                re.finditer(r"^\s+(no hooks|router hooks)\s+decode\s+([\d.]+) tokens/s\s+prefill\s+([\d.]+)", out, re.M)}
        if len(rows) != 2:
            sys.exit(f"bench_native_transformers: unexpected output:\n{out}")
        return rows

    def llama(self, dtype: str, threads: int) -> dict[str, tuple[float, float]]:
        out = run([self.llama_bench, "-m", str(self.gguf / f"model-{dtype}.gguf"), "-p", str(PROMPT),
                   "-n", str(self.args.new_tokens), "-t", str(threads), "-r", "1", "-o", "json"])
        tps = {("prefill" if t["n_gen"] == 0 else "decode"): float(t["avg_ts"]) for t in json.loads(out)}
        return {f"llama.cpp, {dtype}": (tps["prefill"], tps["decode"])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "build/bench212"), help="checkpoint directory (made if absent)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--bench", default=str(ROOT / "build/dev/bench/bench_native"))
    ap.add_argument("--llama-cache", default=str(ROOT / "build/llama.cpp"))
    args = ap.parse_args()
    subprocess.run([sys.executable, str(HERE / "make_bench_checkpoint.py"), args.out], check=True)
    src, llama_bench = run(["bash", str(HERE / "build_llama_cpp.sh"), args.llama_cache]).split()[-2:]
    gguf = Path(args.llama_cache) / f"gguf-{Path(args.out).resolve().name}"
    subprocess.run([sys.executable, str(HERE / "llama_cpp_convert.py"), args.out, src, str(gguf)], check=True)

    b = Bench(args, llama_bench, gguf)
    jobs = [("moeroute", lambda t: b.moeroute("float32", t)), ("transformers", b.transformers),
            ("llama.cpp f32", lambda t: b.llama("f32", t)), ("llama.cpp f16", lambda t: b.llama("f16", t)),
            ("moeroute f16", lambda t: b.moeroute("float16", t)), ("moeroute bf16", lambda t: b.moeroute("bfloat16", t))]
    cells = [(threads, name, fn) for threads in (1, 2) for name, fn in jobs]
    results: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    loads: dict[tuple[int, str], list[float]] = defaultdict(list)
    for r in range(args.rounds):
        k = (r * 3) % len(cells)  # rotate: every (tool, threads) meets other neighbours each round
        for threads, _, fn in cells[k:] + cells[:k]:
            load = os.getloadavg()[0]
            for row, value in fn(threads).items():
                results[(threads, row)].append(value)
                loads[(threads, row)].append(load)

    print(f"machine: {cpu_model()}; prompt {PROMPT}, batch 1, {args.new_tokens} new tokens, "
          f"medians of {args.rounds} interleaved rounds")
    print("| threads | engine | prefill tok/s | decode tok/s | decode ÷ llama.cpp f32 | decode ÷ llama.cpp f16 | "
          "decode ÷ transformers + hooks | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|")
    for threads in (1, 2):
        med = {row: (statistics.median(p for p, _ in v), statistics.median(d for _, d in v))
               for (t, row), v in results.items() if t == threads}
        for row, (prefill, decode) in med.items():
            lo, hi = min(loads[(threads, row)]), max(loads[(threads, row)])
            print(f"| {threads} | {row} | {prefill:.0f} | {decode:.1f} | {decode / med['llama.cpp, f32'][1]:.2f}× | "
                  f"{decode / med['llama.cpp, f16'][1]:.2f}× | {decode / med['transformers, router hooks'][1]:.2f}× | "
                  f"{lo:.1f}–{hi:.1f} |")
    for (threads, weights), calls in sorted(b.roofline.items()):
        roof = statistics.median(t for t, _ in calls)
        frac = statistics.median(f for _, f in calls)
        print(f"decode roofline ({threads} thread{'s' if threads > 1 else ''}, {weights} weight bytes, bandwidth "
              f"measured in each moeroute call): median {roof:.1f} tok/s; moeroute no recorder reaches {frac:.0f} % "
              f"(median of calls)")


if __name__ == "__main__":
    main()
