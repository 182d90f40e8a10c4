#!/usr/bin/env python3
"""moeroute's KDE fit + p-values against SciPy's gaussian_kde on the same logits, in one run.

Writes two synthetic traces (4 layers x 64 experts x 15 625 rows: 10^6 logits per layer; logits
from random token states through random router weights plus per-expert offsets, top-8), then
  moeroute:  `kde fit TRAIN -o MODEL` and `kde pvalues MODEL EVAL --out DIR --plots none
             --save-pvalues` (the whole CLI: loading, fitting, sorting, every statistic, writing),
             with --threads 1 and with all cores;
  SciPy:     gaussian_kde(layer logits) per layer (the fit), and the p-value of a random sample
             of the evaluation logits, integrate_box_1d(x, inf) one by one (SciPy's API) and
             vectorised as ndtr((data - x) / h) @ weights in blocks (what a careful user writes);
             both scale linearly with the number of queries, so their time for all 10^6 logits
             per layer is the sample's time x 10^6 / sample size.
It checks moeroute's p-values at the sampled positions against SciPy's (within the reported
error bound + float32 rounding), and prints the machine, the times and the ratios.

    .venv/bin/python tools/bench/bench_kde_scipy.py     (scripts/setup-refs.sh: NumPy/SciPy + safetensors) [--moeroute build/notorch/apps/moeroute/moeroute]
        [--sample 300] [--rows 15625]
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
from scipy import special, stats

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from make_synthetic_traces import write_safetensors  # noqa: E402

LAYERS, EXPERTS, TOP_K, HIDDEN = 4, 64, 8, 32


def make_trace(path, rows, seed, weights, offsets):
    rng = np.random.default_rng(seed)
    states = rng.normal(0, 1, (rows, HIDDEN))
    logits = (np.einsum("led,td->lte", weights, states) + offsets[:, None, :]).astype(np.float32)
    ids = np.argsort(-logits, axis=-1, kind="stable")[..., :TOP_K].astype(np.int32)
    meta = {"model_id": "synthetic:4x64-top8", "source": "tools/bench/bench_kde_scipy.py", "routing_rule": "",
            "num_experts": EXPERTS, "top_k": TOP_K, "num_positions": rows, "prompt_length": 0,
            "layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(LAYERS)],
            "fields": ["topk_ids", "router_logits"], "extra": {}}
    write_safetensors(path, {"topk_ids": ids, "router_logits": logits},
                      {"moeroute.format": "moeroute.trace", "moeroute.format_version": "1",
                       "moeroute.trace": json.dumps(meta)})
    return logits


class Time:
    """Wall-clock and CPU seconds (CPU: this process, or the child processes it waited for)."""
    def __init__(self, wall=0.0, cpu=0.0):
        self.wall, self.cpu = wall, cpu

    def __add__(self, o):
        return Time(self.wall + o.wall, self.cpu + o.cpu)

    def __mul__(self, k):
        return Time(self.wall * k, self.cpu * k)

    def __str__(self):
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return Time(time.perf_counter() - w, time.process_time() - c), out


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd):
    w, c = time.perf_counter(), children_cpu()
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr}")
    return Time(time.perf_counter() - w, children_cpu() - c)


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, " \
           f"NumPy {np.__version__}, SciPy {scipy.__version__}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moeroute", default=str(ROOT / "build/notorch/apps/moeroute/moeroute"))
    ap.add_argument("--sample", type=int, default=300, help="SciPy queries per layer (timed, then scaled)")
    ap.add_argument("--rows", type=int, default=15625, help="rows per trace (x 64 experts = logits per layer)")
    a = ap.parse_args()
    print("machine:", machine())
    rng = np.random.default_rng(20261201)
    weights = rng.normal(0, 0.35, (LAYERS, EXPERTS, HIDDEN))
    offsets = rng.normal(0, 0.6, (LAYERS, EXPERTS))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train = make_trace(tmp / "train.safetensors", a.rows, 1, weights, offsets)
        ev = make_trace(tmp / "eval.safetensors", a.rows, 2, weights, offsets)
        n = a.rows * EXPERTS
        print(f"data: {LAYERS} layers, {n} logits per layer in each trace (fit on one, score the other)")

        ours = {}
        for threads in (1, 0):
            model, out = tmp / f"m{threads}.kde", tmp / f"out{threads}"
            t_fit = run([a.moeroute, "kde", "fit", tmp / "train.safetensors", "-o", model, "--threads", threads])
            t_pv = run([a.moeroute, "kde", "pvalues", model, tmp / "eval.safetensors", "--out", out, "--plots", "none",
                        "--method", "fast", "--save-pvalues", "--threads", threads])
            ours[threads] = (t_fit, t_pv, out)
        info = json.loads((ours[1][2] / "pvalues.json").read_text())
        bound = info["variants"][0]["error_bound"]
        from safetensors.numpy import load_file  # noqa: E402 (reference package, .venv or Debian)
        pv = load_file(str(ours[1][2] / "pvalues.safetensors"))["gaussian"]

        t_fit_scipy, t_api, t_vec, worst = Time(), Time(), Time(), 0.0
        for layer in range(LAYERS):
            data = train[layer].ravel().astype(np.float64)
            dt, kde = timed(lambda: stats.gaussian_kde(data))
            t_fit_scipy += dt
            idx = rng.choice(n, a.sample, replace=False)
            x = ev[layer].ravel()[idx].astype(np.float64)
            dt, api = timed(lambda: np.array([kde.integrate_box_1d(q, np.inf) for q in x]))
            t_api += dt
            h = np.sqrt(kde.covariance[0, 0])

            def vectorised():
                out = np.empty(x.size)
                for s in range(0, x.size, 16):  # 16 x 10^6 doubles per block
                    out[s:s + 16] = special.ndtr((data[None, :] - x[s:s + 16, None]) / h) @ kde.weights
                return out
            dt, vec = timed(vectorised)
            t_vec += dt
            got = pv[layer].ravel()[idx].astype(np.float64)
            worst = max(worst, float(np.max(np.abs(got - vec))))
            assert np.all(np.abs(got - vec) <= bound + 2.0 ** -24 * vec), "moeroute outside its bound"
            assert np.allclose(api, vec, rtol=1e-9, atol=1e-15), "SciPy's two forms disagree"
        scale = n / a.sample
        scipy_api = t_fit_scipy + t_api * scale
        scipy_vec = t_fit_scipy + t_vec * scale
        print(f"accuracy: largest |moeroute - SciPy| at the {LAYERS * a.sample} sampled logits: {worst:.2g} "
              f"(bound {bound:.2g} + float32 rounding)")
        per = LAYERS * a.sample
        print(f"SciPy gaussian_kde fit, {LAYERS} layers: {t_fit_scipy}")
        print(f"SciPy integrate_box_1d: {t_api.cpu / per * 1e3:.1f} ms CPU per logit -> fit + {LAYERS} x {n} p-values: "
              f"{scipy_api}")
        print(f"SciPy vectorised ndtr:  {t_vec.cpu / per * 1e3:.1f} ms CPU per logit -> fit + {LAYERS} x {n} p-values: "
              f"{scipy_vec}")
        for threads, (t_fit, t_pv, _) in ours.items():
            total = t_fit + t_pv
            print(f"moeroute ({'1 thread' if threads == 1 else 'all cores'}): fit {t_fit} + pvalues {t_pv}; "
                  f"vs vectorised SciPy {scipy_vec.wall / total.wall:,.0f}x wall, {scipy_vec.cpu / total.cpu:,.0f}x CPU; "
                  f"vs integrate_box_1d {scipy_api.wall / total.wall:,.0f}x wall, {scipy_api.cpu / total.cpu:,.0f}x CPU")


if __name__ == "__main__":
    main()
