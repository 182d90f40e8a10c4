#!/usr/bin/env python3
"""Golden fixtures for moeroute's native (LibTorch C++) models: small random checkpoints and what
transformers computes on them.

    /work/wt-exporter/.venv/bin/python tools/golden/make_native_golden.py [--out tests/data/golden]
    (any venv with tools/requirements-export.txt installed)

For every model below it writes OUT/NAME/:
  config.json, model-0000{1,2}-of-00002.safetensors, model.safetensors.index.json
      a transformers checkpoint (weights stored as bfloat16, sharded in two to exercise the index)
  golden.safetensors
      transformers (eager attention, float32, CPU) on fixed prompts; per prompt i:
        prompt.i         int64 [P]            the prompt token ids
        tokens.i         int64 [P + N]        prompt + N greedy tokens (full re-run per step, and
                                              checked equal to model.generate with its KV cache)
        logits.i         float32 [P + N, V]   next-token logits at every position of tokens.i
        router_logits.i  float32 [M, P + N, E] raw router logits (gate linear) of the M MoE layers
        topk_ids.i       int64 [M, P + N, k]  the experts transformers' router chose
      metadata: moe_layers ("0,2,3"), num_prompts, versions, the smallest greedy top-1/top-2 gap
Weights are transformers' initialisation under a fixed seed, then every norm weight is perturbed
(transformers initialises them to 1, which would leave q/k norms untested) and everything is
rounded to bfloat16 so that the float32 run sees exactly the stored values.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, Qwen3MoeConfig

SEED = 20240611
NEW_TOKENS = 10
PROMPTS = [
    [17, 180, 3, 45, 45, 101, 9],
    [150, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    [42],
]


def qwen3_moe_main() -> Qwen3MoeConfig:
    # GQA (4 heads, 2 kv heads), head_dim 32 ≠ hidden/heads, a dense layer via mlp_only_layers.
    return Qwen3MoeConfig(
        vocab_size=256, hidden_size=64, intermediate_size=64, moe_intermediate_size=16,
        num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
        num_experts=16, num_experts_per_tok=4, norm_topk_prob=True, decoder_sparse_step=1,
        mlp_only_layers=[1], rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=512,
        initializer_range=0.1, tie_word_embeddings=False, bos_token_id=0, eos_token_id=1,
    )


def qwen3_moe_variant() -> Qwen3MoeConfig:
    # decoder_sparse_step 2 (only layer 1 and 3 are MoE), no renormalisation, tied embeddings,
    # YaRN RoPE, sliding window of 4 on every layer.
    return Qwen3MoeConfig(
        vocab_size=192, hidden_size=32, intermediate_size=48, moe_intermediate_size=16,
        num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=1, head_dim=8,
        num_experts=8, num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=2,
        rms_norm_eps=1e-5, max_position_embeddings=256, initializer_range=0.2,
        rope_scaling={"rope_type": "yarn", "rope_theta": 5000.0, "factor": 4.0,
                      "original_max_position_embeddings": 64},
        use_sliding_window=True, sliding_window=4, tie_word_embeddings=True,
        bos_token_id=0, eos_token_id=1,
    )


MODELS = {"qwen3_moe": qwen3_moe_main, "qwen3_moe_variant": qwen3_moe_variant}


def build(config) -> torch.nn.Module:
    torch.manual_seed(SEED)
    config._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.add_(torch.randn_like(p) * 0.2)
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    return model


def moe_gates(model) -> list[tuple[int, torch.nn.Module]]:
    out = []
    for i, layer in enumerate(model.model.layers):
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and hasattr(layer.mlp, "experts"):
            out.append((i, gate))
    return out


def run_prompt(model, gates, prompt: list[int], vocab: int) -> tuple[dict, float]:
    # Greedy decoding by full re-runs: the plainest reference.
    ids = list(prompt)
    min_gap = float("inf")
    for _ in range(NEW_TOKENS):
        with torch.no_grad():
            last = model(torch.tensor([ids])).logits[0, -1]
        top = torch.topk(last, 2).values
        min_gap = min(min_gap, float(top[0] - top[1]))
        ids.append(int(last.argmax()))
    # The cached generate must agree.
    with torch.no_grad():
        gen = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    assert gen[0].tolist() == ids, (gen[0].tolist(), ids)

    logits, router, topk = forward_with_routing(model, gates, ids)
    assert logits.shape[-1] == vocab
    return {"tokens": torch.tensor(ids, dtype=torch.int64), "logits": logits.float().contiguous(),
            "router_logits": router.float().contiguous(), "topk_ids": topk.to(torch.int64).contiguous()}, min_gap


def forward_with_routing(model, gates, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One forward over `ids`: next-token logits [T, V], the raw router logits (the gate linear)
    [M, T, E] and the experts the routers chose [M, T, k] of the M gates (tools/golden/*)."""
    captured: dict[int, torch.Tensor] = {}
    chosen: dict[int, torch.Tensor] = {}
    handles = []
    for slot, (_, gate) in enumerate(gates):
        def hook(module, inputs, output, slot=slot):
            raw = torch.nn.functional.linear(inputs[0].reshape(-1, module.weight.shape[1]), module.weight)
            logits, _, indices = output  # transformers 5.x routers: (logits, top-k weights, top-k ids)
            assert torch.equal(raw, logits.reshape(raw.shape)), "router output is not the raw gate logits"
            captured[slot] = raw.detach().clone()
            chosen[slot] = indices.detach().clone()
        handles.append(gate.register_forward_hook(hook))
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    for h in handles:
        h.remove()
    router = torch.stack([captured[s] for s in range(len(gates))])
    topk = torch.stack([chosen[s] for s in range(len(gates))])
    return logits, router, topk


def write_model(name: str, out: Path) -> None:
    config = MODELS[name]()
    model = build(config)
    directory = out / name
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*"):
        old.unlink()
    # Stored as bfloat16 (like the published checkpoints), in two shards.
    half = sum(p.numel() * 2 for p in model.parameters()) * 6 // 10
    model.to(torch.bfloat16).save_pretrained(str(directory), max_shard_size=half)
    shards = sorted(directory.glob("model-*.safetensors"))
    assert len(shards) == 2, [s.name for s in shards]
    (directory / "generation_config.json").unlink(missing_ok=True)

    # Reload what was written, in float32: exactly what a user of the checkpoint gets.
    ref = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32, attn_implementation="eager").eval()
    gates = moe_gates(ref)
    tensors: dict[str, torch.Tensor] = {}
    gaps = []
    for i, prompt in enumerate(PROMPTS):
        res, gap = run_prompt(ref, gates, prompt, config.vocab_size)
        gaps.append(gap)
        tensors[f"prompt.{i}"] = torch.tensor(prompt, dtype=torch.int64)
        for key, value in res.items():
            tensors[f"{key}.{i}"] = value
    meta = {
        "moe_layers": ",".join(str(i) for i, _ in gates),
        "num_prompts": str(len(PROMPTS)),
        "new_tokens": str(NEW_TOKENS),
        "min_greedy_gap": f"{min(gaps):.6g}",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "seed": str(SEED),
    }
    save_file(tensors, str(directory / "golden.safetensors"), metadata=meta)
    size = sum(f.stat().st_size for f in directory.iterdir())
    print(f"{name}: {size / 1024:.0f} KiB, MoE layers {meta['moe_layers']}, smallest greedy gap {min(gaps):.4g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "tests/data/golden")
    ap.add_argument("--model", choices=sorted(MODELS), action="append", help="only these (default: all)")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    for name in args.model or sorted(MODELS):
        write_model(name, args.out)


if __name__ == "__main__":
    main()
