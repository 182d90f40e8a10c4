#!/usr/bin/env python3
"""Side-by-side: `moeroute stats` vs a NumPy implementation of the same statistics
(tests/cli/stats_reference.py: vectorised float64 NumPy + SciPy, written from docs/metrics.md),
on the same dataset trace, in one run. Writes a dataset trace (48 layers x 128 experts, top-8,
with router logits: the shape of Qwen3-30B-A3B), times bench_stats (Google Benchmark; best of its
repetitions) end to end (read + check shards, accumulate, report) and on shards in memory, times
the NumPy code the same two ways (best of --repeat), checks that both agree, prints the ratios.
Both run on one core (moeroute's statistics are single-threaded; NumPy's are too).

Usage: .venv/bin/python bench/stats_numpy.py [--bench build/dev/bench/bench_stats] [--tokens 4096]
Needs NumPy, SciPy, safetensors and xxhash (scripts/setup-refs.sh).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xxhash
from safetensors import safe_open
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests" / "cli"))
from make_synthetic_traces import write_safetensors  # noqa: E402
from stats_reference import compute  # noqa: E402


def write_dataset_trace(out, layers, experts, top_k, tokens, seq_len, shard_samples):
    rng = np.random.default_rng(5)
    samples = tokens // seq_len
    labels = ["code", "maths", "prose", "dialogue"]
    # Token ids as text has them: Zipf-distributed ranks (s = 1.1) over a 151 643-entry vocabulary
    # (Qwen3's), each rank a random id.
    vocab = rng.permutation(151643).astype(np.int64)
    shards = []
    for j in range(0, samples, shard_samples):
        ids_ = list(range(j, min(samples, j + shard_samples)))
        T = len(ids_) * seq_len
        logits = rng.normal(0, 2, (layers, T, experts)).astype(np.float32)
        ids = np.argsort(-logits, axis=-1)[..., :top_k].astype(np.int32)
        top = np.take_along_axis(logits, ids, -1).astype(np.float64)
        w = np.exp(top - top.max(-1, keepdims=True))
        w = (w / w.sum(-1, keepdims=True)).astype(np.float32)
        tensors = {"sequence_ids": np.repeat(np.array(ids_, np.int64), seq_len),
                   "positions": np.tile(np.arange(seq_len, dtype=np.int64), len(ids_)),
                   "segments": np.zeros(T, np.uint8),
                   "token_ids": vocab[np.minimum(rng.zipf(1.1, T), vocab.size) - 1],
                   "topk_ids": ids, "gate_weights": w, "router_logits": logits}
        k = j // shard_samples
        meta = {"model_id": "bench", "source": "bench/stats_numpy.py", "routing_rule": "", "num_experts": experts,
                "top_k": top_k, "num_positions": T, "prompt_length": 0,
                "layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(layers)],
                "fields": ["sequence_ids", "positions", "segments", "token_ids", "topk_ids", "gate_weights",
                           "router_logits"],
                "sequences": [{"id": s, "label": labels[s % 4], "loss": 2.0, "num_tokens": seq_len} for s in ids_],
                "extra": {"moeroute.dataset.run_id": "0" * 16, "moeroute.dataset.shard": str(k),
                          "moeroute.dataset.samples": f"{ids_[0]}:{ids_[-1] + 1}"}}
        name = f"shard-{k:06d}.safetensors"
        write_safetensors(out / name, tensors, {"moeroute.format": "moeroute.trace", "moeroute.format_version": "2",
                                                "moeroute.trace": json.dumps(meta)})
        data = (out / name).read_bytes()
        shards.append({"index": k, "file": name, "samples": [ids_[0], ids_[-1] + 1], "num_rows": T,
                       "bytes": len(data), "xxh64": xxhash.xxh64(data).hexdigest()})
    index = {"format": "moeroute.dataset-trace", "format_version": 1, "run_id": "0" * 16, "model_id": "bench",
             "datasets": [{"path": "bench", "label": "bench", "format": "jsonl", "first_sample": 0,
                           "num_samples": samples, "bytes": 0, "xxh64": "0" * 16}],
             "num_samples": samples, "shard_size": shard_samples, "num_shards": len(shards), "options": {},
             "selection": {"rank": 0, "world_size": 1, "origin": "default"},
             "shape": {"layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(layers)],
                       "num_experts": experts, "top_k": top_k,
                       "fields": ["sequence_ids", "positions", "segments", "token_ids", "topk_ids", "gate_weights",
                                  "router_logits"], "logits_kind": "raw", "logits_dtype": "f32"},
             "complete": True, "shards": shards}
    (out / "trace.json").write_text(json.dumps(index))
    return index


def numpy_load(out, index):
    chunks = []
    for s in index["shards"]:
        arrays = load_file(str(out / s["file"]))
        with safe_open(str(out / s["file"]), framework="numpy") as f:
            meta = json.loads(f.metadata()["moeroute.trace"])
        arrays["source"] = "run"
        arrays["labels"] = {q["id"]: q["label"] for q in meta["sequences"]}
        arrays["losses"] = {q["id"]: q["loss"] for q in meta["sequences"]}
        arrays["num_tokens"] = {q["id"]: q["num_tokens"] for q in meta["sequences"]}
        chunks.append(arrays)
    return chunks


def best_of(fn, repeat):
    """Best wall time and best CPU time (process_time) of `repeat` runs, and the last result."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return (wall, cpu), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/dev/bench/bench_stats")
    ap.add_argument("--moeroute", default=None, help="the CLI, to check its numbers against NumPy's")
    ap.add_argument("--layers", type=int, default=48)
    ap.add_argument("--experts", type=int, default=128)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        index = write_dataset_trace(out, a.layers, a.experts, a.top_k, a.tokens, a.seq_len, 8)
        env = dict(os.environ, MOEROUTE_BENCH_STATS=str(out))
        r = subprocess.run(["taskset", "-c", "0", a.bench, "--benchmark_format=json", "--benchmark_repetitions=3"],
                           env=env, capture_output=True, text=True, check=True)
        ours = {}
        for b in json.loads(r.stdout)["benchmarks"]:
            if b.get("run_type") == "iteration":
                ours.setdefault(b["run_name"], []).append((b["real_time"] / 1e3, b["cpu_time"] / 1e3))
        os.sched_setaffinity(0, {0})
        t_np_all, _ = best_of(lambda: compute(numpy_load(out, index), a.experts), a.repeat)
        chunks = numpy_load(out, index)
        t_np, ref = best_of(lambda: compute(chunks, a.experts), a.repeat)
        if a.moeroute:
            res = subprocess.run([a.moeroute, "stats", str(out), "--json"], capture_output=True, text=True, check=True)
            got = json.loads(res.stdout)
            for l, layer in enumerate(got["layers"]):
                assert [e["count"] for e in layer["experts"]] == ref["counts"][l].tolist()
                assert abs(layer["entropy_full"]["mean"] - ref["entropy_full"][l]["mean"]) < 1e-5
            print("  (moeroute's counts and entropies agree with NumPy's)")
    cells = a.layers * a.tokens * a.experts
    print(f"routing statistics: {a.layers} layers x {a.experts} experts, top-{a.top_k}, {a.tokens} tokens "
          f"({cells / 1e6:.1f} M logits, {len(index['shards'])} shards); one core; best of runs, wall / CPU time")

    def best(name):
        runs = ours[name]
        return min(w for w, _ in runs), min(c for _, c in runs)

    def line(label, t, ref=None):
        text = f"    {label:<34} {t[0] * 1e3:8.1f} ms / {t[1] * 1e3:8.1f} ms"
        if ref:
            text += f"   NumPy is slower by {ref[0] / t[0]:5.1f}x (wall) / {ref[1] / t[1]:5.1f}x (CPU)"
        print(text)

    print("  end to end (read shards, statistics, report):")
    line("NumPy (safetensors + NumPy)", t_np_all)
    line("moeroute stats (hashing shards)", best("BM_StatsRun/verify:1/real_time"), t_np_all)
    line("moeroute stats --no-verify", best("BM_StatsRun/verify:0/real_time"), t_np_all)
    print("  statistics on shards in memory:")
    line("NumPy", t_np)
    line("moeroute RoutingStats", best("BM_StatsAccumulate/real_time"), t_np)


if __name__ == "__main__":
    main()
