#!/usr/bin/env python3
"""What transformers computes on the samples of tests/data/trace/samples.jsonl with the committed
tiny Qwen3-MoE checkpoint (tests/data/torchscript/hf/qwen3_moe_tiny): the reference `moeroute
trace` is tested against (tests/recording/test_trace_models.cpp).

    .venv/bin/python tools/golden/make_trace_golden.py      (any venv with tools/requirements-export.txt)

Each sample is rendered as `moeroute trace --chat-template chatml --label-field domain` reads it
(docs/datasets.md): a `text` as it is, a `messages` conversation as ChatML
(`<|im_start|>ROLE\\nCONTENT<|im_end|>\\n` per message, what the chatml Jinja template renders
without a generation prompt), encoded by the `tokenizers` package from the checkpoint's
tokenizer.json, and run alone (no padding) through transformers in float32 with eager attention on
the CPU. Writes tests/data/trace/reference.safetensors; per sample i:
  tokens.i         int64   [T]          the token ids
  logprobs.i       float64 [T - 1]      ln p(token p+1 | tokens 0..p): log_softmax in float64 of the
                                        float32 next-token logits
  logit_scale.i    float32 [1]          max |next-token logit| over the sample (for tolerances)
  router_logits.i  float32 [M, T, E]    raw router logits (the gate linear) of the M MoE layers
  topk_ids.i       int64   [M, T, k]    the experts transformers' router chose
metadata: num_samples, moe_layers, labels (comma-separated), versions.
"""
from __future__ import annotations

import json
from pathlib import Path

import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from make_native_golden import forward_with_routing, moe_gates

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests/data/torchscript/hf/qwen3_moe_tiny"
DATA = ROOT / "tests/data/trace"


def chatml(messages: list[dict]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


def main() -> None:
    torch.use_deterministic_algorithms(True)
    tok = tokenizers.Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(str(MODEL), dtype=torch.float32, attn_implementation="eager").eval()
    gates = moe_gates(model)
    records = [json.loads(line) for line in (DATA / "samples.jsonl").read_text().splitlines() if line.strip()]
    tensors: dict[str, torch.Tensor] = {}
    for i, rec in enumerate(records):
        text = rec["text"] if "text" in rec else chatml(rec["messages"])
        ids = tok.encode(text).ids
        logits, router, topk = forward_with_routing(model, gates, ids)
        lp = torch.log_softmax(logits.double(), dim=-1)
        next_ids = torch.tensor(ids[1:], dtype=torch.int64)
        tensors[f"tokens.{i}"] = torch.tensor(ids, dtype=torch.int64)
        tensors[f"logprobs.{i}"] = lp[:-1].gather(1, next_ids.view(-1, 1)).view(-1).contiguous()
        tensors[f"logit_scale.{i}"] = logits.abs().max().view(1).float()
        tensors[f"router_logits.{i}"] = router.float().contiguous()
        tensors[f"topk_ids.{i}"] = topk.to(torch.int64).contiguous()
        print(f"sample {i}: {len(ids)} tokens, loss {-tensors[f'logprobs.{i}'].mean().item() if len(ids) > 1 else float('nan'):.6f}")
    meta = {
        "num_samples": str(len(records)),
        "moe_layers": ",".join(str(i) for i, _ in gates),
        "labels": ",".join(r["domain"] for r in records),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }
    save_file(tensors, str(DATA / "reference.safetensors"), metadata=meta)


if __name__ == "__main__":
    main()
