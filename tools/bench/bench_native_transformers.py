#!/usr/bin/env python3
"""transformers' side of bench/bench_native: greedy decode tokens/s of a checkpoint directory
with forward hooks on the routers (how users record routing with transformers today) and
without, same prompt shape as bench_native (printable bytes 32 + (7i + r) % 90, row r 8 tokens
shorter, left padding).

    .venv/bin/python tools/bench/bench_native_transformers.py CHECKPOINT_DIR [--batch 1|2]
        [--prompt-tokens 64] [--new-tokens 64] [--repeats 5] [--device cpu|cuda] [--dtype float32|bfloat16]

Needs tools/bench/requirements-native.txt (torch, transformers). Prints medians of decode tokens/s
(generate()'s new_tokens - 1 decode forwards, a prefill forward's time subtracted) and prefill
tokens/s (one forward over the prompt, real tokens only).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM, Mxfp4Config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64, help="≥ 2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    extra = {}
    quant = getattr(AutoConfig.from_pretrained(args.model), "quantization_config", None) or {}
    if quant.get("quant_method") == "mxfp4":  # gpt-oss: transformers' own dequantising load (no kernels)
        extra["quantization_config"] = Mxfp4Config(dequantize=True)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=getattr(torch, args.dtype), **extra)
    model = model.to(args.device).eval()
    rows = [[32 + (i * 7 + r) % 90 for i in range(args.prompt_tokens - 8 * r)] for r in range(args.batch)]
    width = max(len(r) for r in rows)
    ids = torch.tensor([[0] * (width - len(r)) + r for r in rows], device=args.device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=args.device)

    recorded: list[torch.Tensor] = []

    def hook(module, inputs, output):
        logits = output[0] if isinstance(output, tuple) else output
        recorded.append(logits.detach().float().cpu())  # what a recording hook has to do

    # Qwen3-MoE's router is mlp.gate, gpt-oss's mlp.router (its output tuple starts with the logits).
    gates = [getattr(layer.mlp, "router", None) or layer.mlp.gate
             for layer in model.model.layers if hasattr(layer.mlp, "experts")]

    def timed(hooked: bool) -> tuple[float, float]:
        """(prefill, decode) tokens/s of one prefill forward and one generate()."""
        handles = [g.register_forward_hook(hook) for g in gates] if hooked else []
        recorded.clear()
        with torch.no_grad():
            # generate() does one prefill forward (it yields the first new token) and new_tokens - 1
            # decode forwards; time a prefill alone and subtract it.
            t0 = time.perf_counter()
            model(input_ids=ids, attention_mask=mask)
            t1 = time.perf_counter()
            model.generate(ids, attention_mask=mask, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                           do_sample=False, eos_token_id=None, pad_token_id=0)
            t2 = time.perf_counter()
        for h in handles:
            h.remove()
        prefill = int(mask.sum()) / (t1 - t0)
        return prefill, (args.new_tokens - 1) * args.batch / ((t2 - t1) - (t1 - t0))

    for hooked in (False, True):
        timed(hooked)  # warm-up
    results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.repeats):
        for hooked in (False, True):
            results[hooked].append(timed(hooked))
    print(f"transformers {__import__('transformers').__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), {args.model} on {args.device} ({args.dtype}), batch {args.batch}, "
          f"prompt {args.prompt_tokens}, {args.new_tokens} new tokens, median of {args.repeats}")
    for hooked in (False, True):
        prefill = statistics.median(p for p, _ in results[hooked])
        decode = statistics.median(d for _, d in results[hooked])
        print(f"  {'router hooks' if hooked else 'no hooks':<14} decode {decode:8.1f} tokens/s   prefill {prefill:8.1f} tokens/s")


if __name__ == "__main__":
    main()
