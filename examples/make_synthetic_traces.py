#!/usr/bin/env python3
"""Writes examples/synthetic/{base,var}.safetensors: two synthetic routing traces in moeroute's
trace format (docs/trace-format.md), made with NumPy and a safetensors writer of our own, so
the format has an implementation independent of the C++ one.

The "model" is synthetic: 12 router layers x 32 experts, top-4, Qwen3 routing rule
(softmax -> top-k -> renormalise). Router logits are W_l @ h_t for random token states h_t; the
variant's states drift from the base's by an amount that grows with depth, so deeper layers
diverge more. Real recordings come from `moeroute record` (docs/recording.md).

Usage: python3 examples/make_synthetic_traces.py [OUT_DIR]   (NumPy only; deterministic)
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np

LAYERS, EXPERTS, TOP_K, HIDDEN = 12, 32, 4, 24


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset, blobs = 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype("int32"): "I32", np.dtype("int64"): "I64", np.dtype("float32"): "F32",
                 np.dtype("uint8"): "U8"}[arr.dtype]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        blobs.append(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def route(logits, top_k=TOP_K):
    """Qwen3 rule: softmax over all experts in float64, top-k (ties: lower id), renormalise."""
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ids = np.argsort(-p, axis=-1, kind="stable")[..., :top_k]
    w = np.take_along_axis(p, ids, -1)
    return ids.astype(np.int32), (w / w.sum(-1, keepdims=True)).astype(np.float32)


def trace(name, states, prompt_len, weights, token_ids):
    logits = np.einsum("led,td->lte", weights, states).astype(np.float32)
    ids, w = route(logits.astype(np.float64))
    layers = [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(LAYERS)]
    meta = {
        "model_id": "synthetic:12x32-top4", "source": "examples/make_synthetic_traces.py",
        "routing_rule": "softmax_topk_norm", "num_experts": EXPERTS, "top_k": TOP_K,
        "num_positions": int(states.shape[0]), "prompt_length": int(prompt_len), "layers": layers,
        "fields": ["token_ids", "topk_ids", "gate_weights", "router_logits"], "extra": {"run": name},
    }
    return {"token_ids": token_ids.astype(np.int64), "topk_ids": ids, "gate_weights": w, "router_logits": logits}, {
        "moeroute.format": "moeroute.trace", "moeroute.format_version": "1", "moeroute.trace": json.dumps(meta)}


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "synthetic"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261122)
    weights = rng.normal(0, 0.6, (LAYERS, EXPERTS, HIDDEN))
    base_prompt, var_prompt, shared_gen = 20, 26, 40
    answer = rng.normal(0, 1, (shared_gen, HIDDEN))
    base_states = np.concatenate([rng.normal(0, 1, (base_prompt, HIDDEN)), answer])
    var_states = np.concatenate([rng.normal(0, 1, (var_prompt, HIDDEN)), answer[:36]])
    depth = np.linspace(0.1, 0.9, LAYERS)[:, None, None]
    # Per-layer drift: the variant's state at layer l is (1 - d_l) * shared + d_l * own noise.
    drift = rng.normal(0, 1, var_states.shape)
    var_layers = (1 - depth) * var_states[None] + depth * drift[None]
    base_ids = rng.integers(0, 1000, base_states.shape[0])
    var_ids = rng.integers(0, 1000, var_states.shape[0])
    t, m = trace("base", base_states, base_prompt, weights, base_ids)
    write_safetensors(out / "base.safetensors", t, m)
    # The variant's logits use its per-layer drifted states.
    logits = np.einsum("led,ltd->lte", weights, var_layers).astype(np.float32)
    t, m = trace("var", var_states, var_prompt, weights, var_ids)
    ids, w = route(logits.astype(np.float64))
    t.update(topk_ids=ids, gate_weights=w, router_logits=logits)
    write_safetensors(out / "var.safetensors", t, m)
    print(f"wrote {out}/base.safetensors and {out}/var.safetensors")


if __name__ == "__main__":
    main()
