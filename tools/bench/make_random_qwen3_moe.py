#!/usr/bin/env python3
"""A random Qwen3-MoE checkpoint larger than the built-in demo, for timing `moeroute trace`
(docs/performance.md, "Dataset tracing"): transformers' own initialisation under a fixed seed,
saved as bfloat16 safetensors with the byte-level BPE tokenizer of
tests/data/torchscript/hf/qwen3_moe_tiny (320 ids; the model's vocabulary is larger, so the head
and the loss cost what a real vocabulary costs).

    .venv/bin/python tools/bench/make_random_qwen3_moe.py OUT_DIR     (tools/requirements-export.txt)

Config: 8 layers (all MoE), hidden 512, 8 heads / 4 kv heads, head_dim 64, 32 experts of width
256, top-4, norm_topk_prob true, vocab 32768, untied head, 4096 positions: 141 M parameters
(19 M active per token besides the embedding and the head).
"""
import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, Qwen3MoeConfig

TOKENIZER = Path(__file__).resolve().parents[2] / "tests/data/torchscript/hf/qwen3_moe_tiny"


def main() -> None:
    out = Path(sys.argv[1])
    config = Qwen3MoeConfig(
        vocab_size=32768, hidden_size=512, intermediate_size=1024, moe_intermediate_size=256,
        num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=4, head_dim=64,
        num_experts=32, num_experts_per_tok=4, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
        rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=4096, initializer_range=0.02,
        tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
    )
    torch.manual_seed(7)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    model.to(torch.bfloat16).save_pretrained(str(out))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZER / name, out / name)
    params = sum(p.numel() for p in model.parameters())
    print(f"{out}: {params / 1e6:.0f} M parameters")


if __name__ == "__main__":
    main()
