#!/usr/bin/env python3
"""Writes tests/data/dataset_trace/: a small synthetic dataset trace in moeroute's format
(docs/dataset-trace.md), as two ranks of `--shard I/2` would leave it — shard files and the two
per-rank indexes, no trace.json (the CLI tests merge them). Written with NumPy and our own
safetensors writer (examples/make_synthetic_traces.py), not with moeroute, so the reader is tested
against the documented format; checksums with the `xxhash` package.

The "model" is synthetic: 4 router layers x 8 experts, top-2, Qwen3 rule; 24 samples of 6-17
tokens from three domains (code, maths, prose) whose token states carry a per-domain offset, so
the domains route differently. Losses are synthetic numbers (one sample has none).

Usage: .venv/bin/python tests/data/dataset_trace/make_fixture.py   (NumPy 1.24, xxhash 3.5.0;
deterministic)
"""
import json
import sys
from pathlib import Path

import numpy as np
import xxhash

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "examples"))
from make_synthetic_traces import route, write_safetensors  # noqa: E402

LAYERS, EXPERTS, TOP_K, HIDDEN = 4, 8, 2, 12
SAMPLES, SHARD_SIZE, WORLD = 24, 5, 2
DOMAINS = ["code", "maths", "prose"]
MODEL = "synthetic:4x8-top2"
RUN_ID = "5f1d2a9c0b3e4d6f"  # any 16 hex digits: the writer computes it, readers only compare it


def main():
    out = Path(__file__).resolve().parent
    rng = np.random.default_rng(11)
    weights = rng.normal(0, 1, (LAYERS, EXPERTS, HIDDEN))
    offsets = rng.normal(0, 1.5, (len(DOMAINS), HIDDEN))
    vocab = [f"w{i}" for i in range(40)]
    samples = []
    for s in range(SAMPLES):
        d = s % len(DOMAINS)
        n = int(rng.integers(6, 18))
        states = rng.normal(0, 1, (n, HIDDEN)) + offsets[d]
        tokens = rng.integers(d * 10, d * 10 + 20, n)  # overlapping per-domain vocabularies
        logits = np.einsum("led,td->lte", weights, states).astype(np.float32)
        ids, w = route(logits.astype(np.float64), TOP_K)
        loss = None if s == 7 else round(float(1.5 + 0.1 * d + rng.normal(0, 0.2)), 6)
        samples.append({"id": s, "label": DOMAINS[d], "loss": loss, "n": n, "logits": logits, "ids": ids, "w": w,
                        "tokens": tokens.astype(np.int64)})

    shards = []
    for j in range((SAMPLES + SHARD_SIZE - 1) // SHARD_SIZE):
        part = samples[j * SHARD_SIZE:(j + 1) * SHARD_SIZE]
        begin, end = j * SHARD_SIZE, j * SHARD_SIZE + len(part)
        T = sum(p["n"] for p in part)
        tensors = {
            "sequence_ids": np.concatenate([np.full(p["n"], p["id"], np.int64) for p in part]),
            "positions": np.concatenate([np.arange(p["n"], dtype=np.int64) for p in part]),
            "segments": np.zeros(T, np.uint8),
            "token_ids": np.concatenate([p["tokens"] for p in part]),
            "topk_ids": np.concatenate([p["ids"] for p in part], axis=1),
            "gate_weights": np.concatenate([p["w"] for p in part], axis=1),
            "router_logits": np.concatenate([p["logits"] for p in part], axis=1),
        }
        meta = {
            "model_id": MODEL, "source": "tests/data/dataset_trace/make_fixture.py", "routing_rule": "softmax_topk_norm",
            "num_experts": EXPERTS, "top_k": TOP_K, "num_positions": T, "prompt_length": 0,
            "layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(LAYERS)],
            "fields": ["sequence_ids", "positions", "segments", "token_ids", "token_text", "topk_ids", "gate_weights",
                       "router_logits"],
            "token_text": [vocab[t] for t in tensors["token_ids"]],
            "sequences": [{"id": p["id"], "label": p["label"], "loss": p["loss"], "num_tokens": p["n"]} for p in part],
            "extra": {"moeroute.dataset.run_id": RUN_ID, "moeroute.dataset.shard": str(j),
                      "moeroute.dataset.samples": f"{begin}:{end}"},
        }
        name = f"shard-{j:06d}.safetensors"
        write_safetensors(out / name, tensors, {"moeroute.format": "moeroute.trace", "moeroute.format_version": "2",
                                                "moeroute.trace": json.dumps(meta)})
        data = (out / name).read_bytes()
        shards.append({"index": j, "file": name, "samples": [begin, end], "num_rows": T, "bytes": len(data),
                       "xxh64": xxhash.xxh64(data).hexdigest()})

    for rank in range(WORLD):
        index = {
            "format": "moeroute.dataset-trace", "format_version": 1, "run_id": RUN_ID, "model_id": MODEL,
            "datasets": [{"path": f"synthetic/{d}.jsonl", "label": d, "format": "jsonl",
                          "first_sample": i * 8, "num_samples": 8, "bytes": 0, "xxh64": "0000000000000000"}
                         for i, d in enumerate(DOMAINS)],
            "num_samples": SAMPLES, "shard_size": SHARD_SIZE, "num_shards": len(shards),
            "options": {"note": "synthetic fixture"},
            "selection": {"rank": rank, "world_size": WORLD, "origin": "--shard"},
            "shape": {"layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(LAYERS)],
                      "num_experts": EXPERTS, "top_k": TOP_K,
                      "fields": ["sequence_ids", "positions", "segments", "token_ids", "token_text", "topk_ids",
                                 "gate_weights", "router_logits"],
                      "logits_kind": "raw", "logits_dtype": "f32"},
            "complete": True,
            "shards": [s for s in shards if s["index"] % WORLD == rank],
        }
        (out / f"trace-rank{rank:05d}-of-{WORLD:05d}.json").write_text(json.dumps(index, indent=2) + "\n")


if __name__ == "__main__":
    main()
