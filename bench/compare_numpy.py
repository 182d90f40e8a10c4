#!/usr/bin/env python3
"""Side-by-side: moeroute's routing diff vs the NumPy/SciPy code a user would otherwise write,
on the same data in one run. Writes two traces of 48 layers x 128 experts x 4096 steps, times
`bench_divergence`'s BM_DiffTraceFiles on them (Google Benchmark, best of its repetitions) and the
NumPy/SciPy implementations (best of --repeat), checks they agree, and prints the ratios.

Usage: python3 bench/compare_numpy.py [--bench build/dev/bench/bench_divergence] [--steps 4096]
Needs NumPy and SciPy (Debian python3-numpy, python3-scipy).
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
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from make_synthetic_traces import write_safetensors  # noqa: E402  (one writer, shared)


def trace_files(tmp, layers, experts, steps, top_k):
    rng = np.random.default_rng(7)
    paths = []
    for name in ("base", "var"):
        logits = rng.normal(0, 2, (layers, steps + 1, experts)).astype(np.float32)
        ids = np.argsort(-logits, axis=-1)[..., :top_k].astype(np.int32)
        w = np.full(ids.shape, 1.0 / top_k, np.float32)
        meta = {"model_id": "bench", "source": "bench/compare_numpy.py", "routing_rule": "", "num_experts": experts,
                "top_k": top_k, "num_positions": steps + 1, "prompt_length": 1,
                "layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(layers)],
                "fields": ["topk_ids", "gate_weights", "router_logits"], "extra": {}}
        path = Path(tmp) / f"{name}.safetensors"
        write_safetensors(path, {"topk_ids": ids, "gate_weights": w, "router_logits": logits},
                          {"moeroute.format": "moeroute.trace", "moeroute.format_version": "1",
                           "moeroute.trace": json.dumps(meta)})
        paths.append((path, logits))
    return paths


def softmax(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def numpy_rel_entr(xb, xv):
    """Vectorised NumPy/SciPy: softmax, JSD via rel_entr, expert mass."""
    p, q = softmax(xb), softmax(xv)
    m = 0.5 * (p + q)
    jsd = 0.5 * (rel_entr(p, m).sum(-1) + rel_entr(q, m).sum(-1)) / np.log(2)
    return jsd, p.sum(1), q.sum(1)


def scipy_jensenshannon(xb, xv):
    """The one-liner most users reach for: scipy.spatial.distance.jensenshannon squared."""
    p, q = softmax(xb), softmax(xv)
    return jensenshannon(p, q, base=2, axis=-1) ** 2, p.sum(1), q.sum(1)


def best_of(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/dev/bench/bench_divergence")
    ap.add_argument("--layers", type=int, default=48)
    ap.add_argument("--experts", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (bp, xb), (vp, xv) = trace_files(tmp, a.layers, a.experts, a.steps, 8)
        env = dict(os.environ, MOEROUTE_BENCH_TRACES=f"{bp},{vp}")
        r = subprocess.run([a.bench, "--benchmark_filter=BM_DiffTraceFiles", "--benchmark_format=json",
                            "--benchmark_repetitions=3"], env=env, capture_output=True, text=True, check=True)
        ours = {}
        for b in json.loads(r.stdout)["benchmarks"]:
            if b.get("run_type") == "iteration":
                ours.setdefault(b["name"].split("/")[1], []).append(b["real_time"] / 1e3)
        xb, xv = xb[:, :-1], xv[:, :-1]  # steps 0..S-1 sit at positions 0..S-1 (prompt_length 1)
        t_np, (jsd_np, mb, _) = best_of(lambda: numpy_rel_entr(xb, xv), a.repeat)
        t_sp, (jsd_sp, _, _) = best_of(lambda: scipy_jensenshannon(xb, xv), a.repeat)
        np.testing.assert_allclose(jsd_np, jsd_sp, atol=1e-7)
    cells = a.layers * a.steps * a.experts
    print(f"routing diff, full softmax + JSD + expert mass: {a.layers} layers x {a.experts} experts x {a.steps} steps"
          f" ({cells / 1e6:.1f} M expert cells)")
    t1, tall = min(ours["1"]), min(ours["0"])
    print(f"  moeroute, 1 thread          {t1 * 1e3:8.1f} ms")
    print(f"  moeroute, all cores ({os.cpu_count()})    {tall * 1e3:8.1f} ms")
    print(f"  NumPy + scipy.special.rel_entr {t_np * 1e3:8.1f} ms   ratio (1 thread) {t_np / t1:5.1f}x"
          f"   (all cores) {t_np / tall:5.1f}x")
    print(f"  scipy jensenshannon(...)**2    {t_sp * 1e3:8.1f} ms   ratio (1 thread) {t_sp / t1:5.1f}x"
          f"   (all cores) {t_sp / tall:5.1f}x")


if __name__ == "__main__":
    main()
