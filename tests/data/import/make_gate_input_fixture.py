#!/usr/bin/env python3
"""A llama.cpp gate-input log and the distances the seed's gate_input_analysis.py computes on it,
with SciPy/NumPy as the reference (tests/unit/test_gate_inputs.cpp).

The log (gate_inputs.log) interleaves, as llama.cpp's eval callback writes them, expert lines
("layer_id,expert_ids") and gate_input lines ("gate_input,layer_id,token_id,values") for MoE
layers 20-24, n_embd 48: a 3-token prompt pass (token_id 0, 1, 2 per layer), then 5 decode
passes (token_id 0), the fourth of which lacks layer 22 (a layer the logger missed).
gate_inputs_expected.json: per step and consecutive layer pair the six metrics, and their mean,
population std (ddof 0), min and max over steps. Values are computed in float64 from the
float32 numbers the log holds.

Usage: /usr/bin/python3 tests/data/import/make_gate_input_fixture.py   (Debian numpy 1.24, scipy 1.10)
"""
import json
from pathlib import Path

import numpy as np
import scipy
from scipy.spatial.distance import cosine, euclidean
from scipy.stats import pearsonr

LAYERS, DIM = [20, 21, 22, 23, 24], 48
rng = np.random.default_rng(5)
out = Path(__file__).parent
lines, steps = [], []


def vec():
    return rng.normal(0.3, 1.0, DIM).astype(np.float32)


def fmt(v):
    return " ".join(f"{x:.7g}" for x in v)


for l in LAYERS:
    for t in range(3):
        lines.append(f"gate_input,{l},{t},{fmt(vec())}")
    for t in range(3):
        lines.append(f"{l},{' '.join(str(e) for e in rng.permutation(16)[:4])}")
for s in range(5):
    layers = [l for l in LAYERS if not (s == 3 and l == 22)]
    vs = {}
    for l in layers:
        v = vec()
        text = fmt(v)
        vs[l] = np.array([np.float32(x) for x in text.split()], np.float64)  # what the log holds
        lines.append(f"gate_input,{l},0,{text}")
        lines.append(f"{l},{' '.join(str(e) for e in rng.permutation(16)[:4])}")
    steps.append(vs)
(out / "gate_inputs.log").write_text("\n".join(lines) + "\n")


def metrics(a, b):
    na, nb = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return {"cosine_similarity": 1 - cosine(a, b), "cosine_distance": cosine(a, b), "euclidean": euclidean(a, b),
            "l2_normalized": float(np.linalg.norm(na - nb)), "pearson": float(pearsonr(a, b)[0]),
            "mean_abs_diff": float(np.mean(np.abs(a - b)))}


pairs = []
for a, b in zip(LAYERS, LAYERS[1:]):
    per = {m: [] for m in ("cosine_similarity", "cosine_distance", "euclidean", "l2_normalized", "pearson",
                           "mean_abs_diff")}
    for vs in steps:
        got = metrics(vs[a], vs[b]) if a in vs and b in vs else {m: None for m in per}
        for m in per:
            per[m].append(got[m])
    agg = {}
    for m, vals in per.items():
        x = np.array([v for v in vals if v is not None])
        agg[m] = {"count": len(x), "mean": x.mean(), "std": x.std(), "min": x.min(), "max": x.max(), "per_step": vals}
    pairs.append({"layer_from": a, "layer_to": b, **agg})
(out / "gate_inputs_expected.json").write_text(json.dumps(
    {"layers": LAYERS, "n_embd": DIM, "steps": len(steps), "pairs": pairs,
     "versions": {"numpy": np.__version__, "scipy": scipy.__version__}}, indent=1) + "\n")
print("wrote gate_inputs.log and gate_inputs_expected.json")
