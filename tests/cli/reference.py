"""Independent reference for moeroute's routing diff (docs/metrics.md): traces read with the
`safetensors` package, JSD from SciPy (jensenshannon(p, q, base=2) ** 2), masses and rankings
from NumPy. Shared by the CLI tests."""
import json

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
from scipy.spatial.distance import jensenshannon


def load(path):
    arrays = load_file(str(path))
    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()["moeroute.trace"])
    return arrays, meta


def distribution(arrays, meta, kind, layer, pos):
    if kind == "full":
        x = arrays["router_logits"][layer, pos].astype(np.float64)
        p = np.exp(x - x.max())
        return p / p.sum()
    p = np.zeros(meta["num_experts"])
    np.add.at(p, arrays["topk_ids"][layer, pos], arrays["gate_weights"][layer, pos].astype(np.float64))
    return p / p.sum()


def reference(base_path, var_path, kind, topn):
    (b, bm), (v, vm) = load(base_path), load(var_path)
    steps = min(bm["num_positions"] - bm["prompt_length"], vm["num_positions"] - vm["prompt_length"])
    bs, vs = bm["prompt_length"] - 1, vm["prompt_length"] - 1
    n_layers, n_exp = len(bm["layers"]), bm["num_experts"]
    jsd = np.zeros((n_layers, steps))
    mb, mv = np.zeros((n_layers, n_exp)), np.zeros((n_layers, n_exp))
    for l in range(n_layers):
        for s in range(steps):
            p, q = distribution(b, bm, kind, l, bs + s), distribution(v, vm, kind, l, vs + s)
            jsd[l, s] = jensenshannon(p, q, base=2) ** 2
            mb[l] += p
            mv[l] += q
    shifts = []
    for l, layer in enumerate(bm["layers"]):
        delta = mv[l] - mb[l]
        order = sorted(range(n_exp), key=lambda e: (-abs(delta[e]), e))[:topn]
        shifts += [(layer["name"], e, mb[l, e], mv[l, e], delta[e], abs(delta[e])) for e in order]
    return jsd, shifts, steps, [l["name"] for l in bm["layers"]]
