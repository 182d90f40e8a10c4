#!/usr/bin/env python3
"""Make the gpt-oss golden fixtures for moeroute's native LibTorch model.

    /work/wt-exporter/.venv/bin/python tools/golden/make_gpt_oss_golden.py [--out tests/data/golden/gpt_oss]
    (any venv with tools/requirements-export.txt installed)

Writes two small randomly initialised gpt-oss checkpoints and transformers' outputs on them
(tests/data/golden/gpt_oss/README.md lists every file):
  mxfp4/   like openai/gpt-oss-20b on disk: bf16 tensors, experts as MXFP4 `*_blocks`/`*_scales` (u8),
           quantization_config in config.json, two shards with model.safetensors.index.json.
           The experts are quantised here (NumPy, OCP MX rounding); transformers loads the checkpoint
           with Mxfp4Config(dequantize=True) and the loaded weights are checked against an
           independent NumPy dequantisation.
  dequant/ what transformers' save_pretrained writes for a gpt-oss model loaded dequantised (bf16):
           float experts under the `*_blocks` names in parameter layout, no quantization_config.
           (transformers 5.23 itself cannot load this back; the reference comes from the model it
           saved.) Tied embeddings, YaRN with default `truncate`, custom layer_types.
  NAME.golden.safetensors  per prompt p: prompt.p, generated.p (greedy), logits.p (every position of
           prompt+generated, fp32), step_logits.p (generate's KV-cached logits per step),
           router_logits.p.L (raw router logits, bias included, per layer), plus bf16 runs
           (bf16.logits.p, bf16.router_logits.p.L) of the same model in bfloat16.
Everything runs on CPU; the reference forward uses eager attention and fp32.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

SEED = 20250805
FP4_VALUES = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0],
                      dtype=np.float32)
MODULES_NOT_CONVERTED = ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]


# --- MXFP4 in NumPy (independent of transformers) ---------------------------------------------

def quantize_mxfp4(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w [E, out, K] float → blocks u8 [E, out, K/32, 16], scales u8 [E, out, K/32].
    OCP MX: shared exponent floor(log2(amax)) − 2 (6 = 1.5·2²), elements rounded to the nearest
    E2M1 value (saturating at ±6), two per byte, low nibble first."""
    E, O, K = w.shape
    g = w.reshape(E, O, K // 32, 32).astype(np.float64)
    amax = np.abs(g).max(axis=-1)
    exp = np.where(amax > 0, np.floor(np.log2(np.maximum(amax, 1e-30))) - 2, -127).astype(np.int64)
    exp = np.clip(exp, -127, 127)
    scaled = g / np.ldexp(1.0, exp)[..., None]
    mags = FP4_VALUES[:8].astype(np.float64)
    idx = np.abs(np.abs(scaled)[..., None] - mags).argmin(axis=-1)  # nearest magnitude (ties: smaller)
    nib = (idx + np.where(scaled < 0, 8, 0)).astype(np.uint8)
    blocks = (nib[..., 0::2] | (nib[..., 1::2] << 4)).astype(np.uint8)
    return blocks, (exp + 127).astype(np.uint8)


def dequantize_mxfp4(blocks: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """blocks [E, out, G, 16], scales [E, out, G] → [E, out, G·32] float32."""
    lo = FP4_VALUES[blocks & 0x0F]
    hi = FP4_VALUES[blocks >> 4]
    vals = np.stack([lo, hi], axis=-1).reshape(*blocks.shape[:-1], 32)
    vals = np.ldexp(vals, scales.astype(np.int32)[..., None] - 127)
    return vals.reshape(*blocks.shape[:-2], -1).astype(np.float32)


# --- models -------------------------------------------------------------------------------------

def mxfp4_config():
    from transformers import GptOssConfig

    return GptOssConfig(
        vocab_size=320, hidden_size=64, intermediate_size=64, head_dim=16,
        num_hidden_layers=4, layer_types=["sliding_attention", "full_attention"] * 2, sliding_window=6,
        num_attention_heads=4, num_key_value_heads=2,
        num_local_experts=16, num_experts_per_tok=4,
        max_position_embeddings=128, initializer_range=0.1, rms_norm_eps=1e-5, tie_word_embeddings=False,
        rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 8.0, "beta_fast": 32.0,
                         "beta_slow": 1.0, "truncate": False, "original_max_position_embeddings": 16},
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )


def dequant_config():
    from transformers import GptOssConfig

    return GptOssConfig(
        vocab_size=256, hidden_size=64, intermediate_size=32, head_dim=16,
        num_hidden_layers=3, layer_types=["full_attention", "sliding_attention", "sliding_attention"],
        sliding_window=5, num_attention_heads=4, num_key_value_heads=1,
        num_local_experts=8, num_experts_per_tok=4,
        max_position_embeddings=64, initializer_range=0.1, rms_norm_eps=1e-6, tie_word_embeddings=True,
        swiglu_limit=5.0,
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 2.0, "beta_fast": 16.0,
                         "beta_slow": 2.0, "original_max_position_embeddings": 32},
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )


def random_model(config):
    """transformers' initialisation, then larger sinks, biases and norm weights so that every term
    of the forward matters (the gate/up biases push some values past the SwiGLU clamp)."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("sinks"):
                p.normal_(0.0, 1.0)
            elif name.endswith("gate_up_proj_bias"):
                p.normal_(0.0, 3.0)
            elif name.endswith("down_proj_bias") or name.endswith("proj.bias"):
                p.normal_(0.0, 0.1)
            elif "norm" in name:
                p.normal_(1.0, 0.2)
    return model


def hub_style_config(config, quantized: bool) -> dict:
    """config.json with the key names of the real Hub checkpoint (rope_theta + rope_scaling)."""
    c = config.to_dict()
    rope = dict(c.pop("rope_parameters"))
    c["rope_theta"] = rope.pop("rope_theta")
    c["rope_scaling"] = rope
    for k in ("dtype", "torch_dtype", "_name_or_path", "chunk_size_feed_forward", "id2label", "label2id",
              "is_encoder_decoder", "output_attentions", "output_hidden_states", "problem_type", "return_dict"):
        c.pop(k, None)  # generic PretrainedConfig keys the real config.json does not carry
    c["architectures"] = ["GptOssForCausalLM"]
    if quantized:
        c["quantization_config"] = {"modules_to_not_convert": MODULES_NOT_CONVERTED, "quant_method": "mxfp4"}
    return dict(sorted(c.items()))


def save_mxfp4_checkpoint(model, config, directory: Path) -> dict[str, np.ndarray]:
    """gpt-oss-20b's on-disk layout: bf16 tensors, experts as blocks/scales, two shards + index.
    Returns the NumPy dequantisation of every expert weight, in the parameter layout."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    dequantized: dict[str, np.ndarray] = {}
    for name, p in model.state_dict().items():
        if name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            w = p.detach().transpose(1, 2).contiguous().numpy()  # parameter [E, K, out] → [E, out, K]
            blocks, scales = quantize_mxfp4(w)
            tensors[name + "_blocks"] = torch.from_numpy(blocks)
            tensors[name + "_scales"] = torch.from_numpy(scales)
            dequantized[name] = dequantize_mxfp4(blocks, scales).transpose(0, 2, 1)
        elif name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        else:
            tensors[name] = p.detach().to(torch.bfloat16).contiguous()
    names = sorted(tensors)
    shards = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    total = 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file({n: tensors[n] for n in shard}, str(directory / fname), metadata={"format": "pt"})
        for n in shard:
            weight_map[n] = fname
            total += tensors[n].numel() * tensors[n].element_size()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (directory / "config.json").write_text(json.dumps(hub_style_config(config, True), indent=2) + "\n")
    return dequantized


def load_dequantized(directory: Path, dtype: torch.dtype, dequantized: dict[str, np.ndarray]):
    """transformers' own load of an MXFP4 checkpoint on CPU (dequantised), checked against NumPy."""
    from transformers import AutoModelForCausalLM, Mxfp4Config

    model = AutoModelForCausalLM.from_pretrained(
        str(directory), dtype=dtype, quantization_config=Mxfp4Config(dequantize=True), attn_implementation="eager")
    model.eval()
    state = model.state_dict()
    for name, ref in dequantized.items():
        got = state[name].float().numpy()
        if not np.array_equal(got, ref):
            raise SystemExit(f"{name}: transformers' dequantisation differs from NumPy's "
                             f"(max {np.abs(got - ref).max()})")
    return model


# --- reference runs -----------------------------------------------------------------------------

def router_logits_of(model, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One eager forward: final logits [T, V] and each layer's raw router logits [T, E] (the router
    Linear's output, bias included, captured by a hook, not transformers' `router_logits` field)."""
    captured: list[torch.Tensor] = []
    hooks = [layer.mlp.router.register_forward_hook(lambda m, i, o: captured.append(o[0].detach().clone()))
             for layer in model.model.layers]
    try:
        with torch.no_grad():
            out = model(input_ids=ids[None], use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    return out.logits[0], captured


def greedy(model, ids: torch.Tensor, new_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' generate (KV cache) without stop tokens: generated ids and per-step logits."""
    from transformers import GenerationConfig

    gen = GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                           eos_token_id=None, pad_token_id=0, bos_token_id=None, output_logits=True,
                           return_dict_in_generate=True)
    with torch.no_grad():
        out = model.generate(ids[None], generation_config=gen)
    generated = out.sequences[0, ids.numel():]
    assert generated.numel() == new_tokens
    return generated, torch.stack([s[0] for s in out.logits])


def gap(scores: torch.Tensor, k: int) -> float:
    """Smallest gap between the k-th and (k+1)-th largest value of any row."""
    top = torch.topk(scores.float(), k + 1, dim=-1).values
    return float((top[:, k - 1] - top[:, k]).min())


def golden_outputs(model, model_bf16, prompts: list[list[int]], new_tokens: int, top_k: int,
                   meta: dict[str, str]) -> dict[str, torch.Tensor]:
    """Per prompt: greedy continuation, logits and router logits (fp32 and bf16). Refuses near
    ties (router k-th vs (k+1)-th, greedy top-1 vs top-2 < 1e-4): fp32 noise could flip them."""
    out: dict[str, torch.Tensor] = {}
    router_gap = greedy_gap = float("inf")
    for p, prompt in enumerate(prompts):
        ids = torch.tensor(prompt, dtype=torch.long)
        generated, step_logits = greedy(model, ids, new_tokens)
        full = torch.cat([ids, generated])
        logits, router = router_logits_of(model, full)
        router_gap = min([router_gap] + [gap(r, top_k) for r in router])
        greedy_gap = min(greedy_gap, gap(logits[ids.numel() - 1:], 1))
        out[f"prompt.{p}"] = ids
        out[f"generated.{p}"] = generated.clone()
        out[f"logits.{p}"] = logits.float().contiguous()
        out[f"step_logits.{p}"] = step_logits.float().contiguous()
        for layer, r in enumerate(router):
            out[f"router_logits.{p}.{layer}"] = r.float().contiguous()
        logits16, router16 = router_logits_of(model_bf16, full)
        out[f"bf16.logits.{p}"] = logits16.float().contiguous()
        for layer, r in enumerate(router16):
            out[f"bf16.router_logits.{p}.{layer}"] = r.float().contiguous()
    if router_gap < 1e-4 or greedy_gap < 1e-4:
        raise SystemExit(f"near tie (router gap {router_gap}, greedy gap {greedy_gap}): pick another seed")
    meta.update(min_router_gap=f"{router_gap:.3g}", min_greedy_gap=f"{greedy_gap:.3g}")
    return out


def prompts_for(vocab: int, lengths: list[int], salt: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(SEED + salt)
    return [torch.randint(3, vocab, (n,), generator=g).tolist() for n in lengths]


def main() -> int:
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "tests/data/golden/gpt_oss")
    out = p.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    versions = {"transformers": __import__("transformers").__version__, "torch": torch.__version__, "seed": str(SEED)}

    # 1. MXFP4 checkpoint (the gpt-oss-20b format).
    config = mxfp4_config()
    dequantized = save_mxfp4_checkpoint(random_model(config), config, out / "mxfp4")
    ref = load_dequantized(out / "mxfp4", torch.float32, dequantized)
    ref16 = load_dequantized(out / "mxfp4", torch.bfloat16, dequantized)
    prompts = prompts_for(config.vocab_size, [5, 13, 21], 1)
    gold = golden_outputs(ref, ref16, prompts, 10, config.num_experts_per_tok, meta := dict(versions))
    save_file(gold, str(out / "mxfp4.golden.safetensors"), metadata=meta)
    print("mxfp4", meta)

    # 2. transformers' own save of a dequantised (bf16) load.
    config = dequant_config()
    staging = out / "_dequant_source"
    dequantized = save_mxfp4_checkpoint(random_model(config), config, staging)
    loaded = load_dequantized(staging, torch.bfloat16, dequantized)
    loaded.save_pretrained(str(out / "dequant"))
    for f in staging.iterdir():
        f.unlink()
    staging.rmdir()
    ref16 = loaded
    ref = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32, attn_implementation="eager")
    ref.load_state_dict({k: v.float() for k, v in loaded.state_dict().items()})
    ref.eval()
    prompts = prompts_for(config.vocab_size, [9, 16], 2)
    gold = golden_outputs(ref, ref16, prompts, 8, config.num_experts_per_tok, meta := dict(versions))
    save_file(gold, str(out / "dequant.golden.safetensors"), metadata=meta)
    print("dequant", meta)
    for d in ("mxfp4", "dequant"):
        gc = out / d / "generation_config.json"
        if gc.exists():
            gc.unlink()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
