#!/usr/bin/env python3
"""Writes tests/data/report/hostile/: a compare output directory (meta.json, generations.json,
base.safetensors, var.safetensors) whose prompts, generated text and token texts try to inject
HTML and script. The browser tests check that a report of it shows the text and runs nothing.

Usage: /usr/bin/python3 tests/data/report/make_hostile.py   (NumPy only; deterministic)
"""
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "examples"))
from make_synthetic_traces import route, write_safetensors  # noqa: E402  (the same writer and routing rule)

LAYERS, EXPERTS, TOP_K = 3, 8, 4  # route() keeps make_synthetic_traces' top-4
SCRIPT = "</script><script>window.pwned = 'script';</script>"
IMG = "<img src=x onerror=\"window.pwned = 'img'\">"
TOKENS = ["<|im_start|>", "system", "\n", SCRIPT, IMG, "<!--", " & ", "<b>bold</b>", "</SCRIPT >", "\u2028", "ok", "\ufffd"]


def trace(rng, prompt_len, name):
    rows = len(TOKENS)
    logits = rng.normal(0, 1.5, (LAYERS, rows, EXPERTS)).astype(np.float32)
    ids, w = route(logits.astype(np.float64))
    meta = {
        "model_id": "hostile-test-model " + IMG, "source": "tests/data/report/make_hostile.py", "routing_rule": "softmax_topk_norm",
        "num_experts": EXPERTS, "top_k": TOP_K, "num_positions": rows, "prompt_length": prompt_len,
        "layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(LAYERS)],
        "fields": ["token_ids", "token_text", "topk_ids", "gate_weights", "router_logits"],
        "token_text": TOKENS, "extra": {"run": name},
    }
    tensors = {"token_ids": np.arange(rows, dtype=np.int64), "topk_ids": ids, "gate_weights": w, "router_logits": logits}
    return tensors, {"moeroute.format": "moeroute.trace", "moeroute.format_version": "1", "moeroute.trace": json.dumps(meta)}


def main():
    out = Path(__file__).resolve().parent / "hostile"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(20261201)
    for name, prompt_len in (("base", 5), ("var", 6)):
        t, m = trace(rng, prompt_len, name)
        write_safetensors(out / f"{name}.safetensors", t, m)
    (out / "meta.json").write_text(json.dumps({"distribution": "full", "divergence": "jsd"}, indent=2) + "\n")
    gen = {
        "model": "hostile-test-model", "chat_template": "chatml", "align": "free",
        "base": {"system": "You are " + SCRIPT, "user": "Question " + IMG, "generated_text": "".join(TOKENS[5:]), "stop_reason": "max_new_tokens"},
        "var": {"system": "You are " + IMG, "user": "Question " + SCRIPT, "generated_text": "".join(TOKENS[6:]), "stop_reason": "max_new_tokens", "teacher_forced": False},
    }
    (out / "generations.json").write_text(json.dumps(gen, indent=2) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
