#!/usr/bin/env python3
"""Writes tests/data/simulator/gating.json: the routing simulator's decisions for a few
configurations, computed from the definition in docs/simulator.md with NumPy, independently of
libmoeroute (C++) and sim_model.js (the HTML simulator). Both are tested against this file.

Usage: /usr/bin/python3 tools/make_simulator_fixture.py   (Debian's NumPy 1.24; deterministic)
"""
import json
import math
from pathlib import Path

import numpy as np

MASK = 0xFFFFFFFF


class Mulberry32:
    """mulberry32 with explicit 32-bit wrap-around."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next_u32(self):
        self.state = (self.state + 0x6D2B79F5) & MASK
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & MASK
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & MASK)) & MASK
        return (t ^ (t >> 14)) & MASK

    def uniform(self):
        return self.next_u32() / 4294967296.0

    def normal(self):
        u1, u2 = self.uniform(), self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def stream_seed(seed, stream):
    return (seed + stream * 0x9E3779B9) & MASK


def simulate(cfg, tokens):
    n, d = cfg["local_experts"] * cfg["micro_experts"], cfg["embedding_dim"]
    wr = Mulberry32(stream_seed(cfg["seed"], 0))
    tr = Mulberry32(stream_seed(cfg["seed"], 1))
    nr = Mulberry32(stream_seed(cfg["seed"], 2))
    W = np.array([wr.normal() for _ in range(d * n)]).reshape(d, n)
    x = None
    out = []
    for _ in range(tokens):
        eps = np.array([tr.normal() for _ in range(d)])
        x = eps if x is None else (1 - cfg["drift"]) * x + cfg["drift"] * eps
        xhat = x / np.linalg.norm(x)
        z = xhat @ W
        h = z + cfg["noise"] * np.array([nr.normal() for _ in range(n)])
        order = sorted(range(n), key=lambda j: (-h[j], j))
        chosen = order[: cfg["top_k"]]
        e = np.exp(h[chosen] - h[chosen[0]])
        w = e / e.sum()
        # The smallest gap between a chosen and an unchosen noisy logit: tests rely on it
        # being far above rounding, so that no implementation can pick a different set.
        rest = [h[j] for j in order[cfg["top_k"]:]]
        gap = float(h[chosen[-1]] - max(rest)) if rest else None
        out.append({"logits": z.tolist(), "noisy": h.tolist(), "chosen": chosen, "weights": w.tolist(), "gap": gap})
    return out


CONFIGS = [
    {"local_experts": 6, "shared_experts": 2, "micro_experts": 3, "top_k": 6, "embedding_dim": 16,
     "noise": 0.18, "drift": 0.05, "seed": 42},
    {"local_experts": 8, "shared_experts": 0, "micro_experts": 1, "top_k": 2, "embedding_dim": 5,
     "noise": 0.0, "drift": 0.3, "seed": 7},
    {"local_experts": 4, "shared_experts": 1, "micro_experts": 4, "top_k": 3, "embedding_dim": 32,
     "noise": 1.5, "drift": 0.05, "seed": 4294967295},
]


def main():
    first = Mulberry32(42)
    doc = {
        "generator": "tools/make_simulator_fixture.py (NumPy %s)" % np.__version__,
        "mulberry32_seed42_first_u32": [first.next_u32() for _ in range(5)],
        "cases": [{"config": c, "tokens": simulate(c, 12)} for c in CONFIGS],
    }
    path = Path(__file__).resolve().parent.parent / "tests" / "data" / "simulator" / "gating.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
