#!/usr/bin/env python3
"""The benchmark checkpoint of docs/performance.md ("Native models"): a random Qwen3-MoE of
≈ 210 M parameters (vocab 4096, hidden 512, 8 layers × 64 experts, top-8, moe_intermediate 256,
32 heads × 16, 4 kv heads — transformers' Qwen3MoeConfig defaults for everything not named),
float32, weights N(0, 0.02) as transformers' _init_weights draws them (norms 1), from NumPy's
PCG64 with seed 0 — the same bytes on every machine, no torch needed to make it.

    .venv/bin/python tools/bench/make_bench_checkpoint.py OUT_DIR

Writes OUT_DIR/config.json, OUT_DIR/model.safetensors (Hub layout: one tensor per expert, which
transformers 5 loads as it is), ≈ 840 MB. Nothing is written when OUT_DIR/model.safetensors exists
with the same config (re-runs are free).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

CONFIG = {
    "architectures": ["Qwen3MoeForCausalLM"],
    "model_type": "qwen3_moe",
    "vocab_size": 4096,
    "hidden_size": 512,
    "intermediate_size": 6144,
    "moe_intermediate_size": 256,
    "num_hidden_layers": 8,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "head_dim": 16,
    "num_experts": 64,
    "num_experts_per_tok": 8,
    "norm_topk_prob": False,
    "decoder_sparse_step": 1,
    "mlp_only_layers": [],
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "max_position_embeddings": 32768,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "hidden_act": "silu",
    "bos_token_id": 1,
    "eos_token_id": 2,
    "torch_dtype": "float32",
}
STD = 0.02  # Qwen3MoeConfig.initializer_range


def tensors(c: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    H, V, D, I = c["hidden_size"], c["vocab_size"], c["head_dim"], c["moe_intermediate_size"]
    Q, KV = c["num_attention_heads"] * D, c["num_key_value_heads"] * D

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * STD).astype(np.float32)

    t = {"model.embed_tokens.weight": normal(V, H)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = np.ones(H, np.float32)
        t[p + "post_attention_layernorm.weight"] = np.ones(H, np.float32)
        t[p + "self_attn.q_proj.weight"] = normal(Q, H)
        t[p + "self_attn.k_proj.weight"] = normal(KV, H)
        t[p + "self_attn.v_proj.weight"] = normal(KV, H)
        t[p + "self_attn.o_proj.weight"] = normal(H, Q)
        t[p + "self_attn.q_norm.weight"] = np.ones(D, np.float32)
        t[p + "self_attn.k_norm.weight"] = np.ones(D, np.float32)
        t[p + "mlp.gate.weight"] = normal(c["num_experts"], H)
        for e in range(c["num_experts"]):
            q = f"{p}mlp.experts.{e}."
            t[q + "gate_proj.weight"] = normal(I, H)
            t[q + "up_proj.weight"] = normal(I, H)
            t[q + "down_proj.weight"] = normal(H, I)
    t["model.norm.weight"] = np.ones(H, np.float32)
    t["lm_head.weight"] = normal(V, H)
    return t


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    config_text = json.dumps(CONFIG, indent=2) + "\n"
    weights = out / "model.safetensors"
    if weights.exists() and (out / "config.json").exists() and (out / "config.json").read_text() == config_text:
        print(f"{out}: up to date")
        return
    t = tensors(CONFIG)
    tmp = out / "model.safetensors.tmp"
    save_file(t, str(tmp), metadata={"format": "pt"})
    tmp.replace(weights)
    (out / "config.json").write_text(config_text)
    n = sum(a.size for a in t.values())
    print(f"{out}: {n / 1e6:.1f} M parameters, {weights.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
