#!/usr/bin/env python3
"""Make the tiny randomly initialised MoE checkpoints and their TorchScript exports.

    .venv/bin/python tools/golden/make_tiny_exports.py [--out tests/data/torchscript]

Writes, for qwen3_moe_tiny and gpt_oss_tiny:
  hf/NAME/            config.json, model.safetensors, tokenizer.json, ... (a transformers checkpoint)
  NAME.pt             tools/export_torchscript.py's export of it (+ .pt.json, .pt.routing.safetensors)
Weights come from transformers' own initialisation under a fixed torch seed; the tokenizer is a
byte-level BPE with Qwen2's pre-tokenizer regex, trained on the small corpus below. Regenerate
only with the versions pinned in tools/requirements-export.txt (see tests/data/torchscript/README.md).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))

from moeroute_export.export import ExportOptions, export  # noqa: E402

VOCAB = 320
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CORPUS = [
    "Mixture-of-experts models route every token to a few experts chosen by a small gate.",
    "The router scores all experts, keeps the top k and mixes their outputs with the gate weights.",
    "You are a helpful assistant. Answer the question briefly and politely.",
    "You are a pirate. Answer the question like a pirate would, with plenty of arr!",
    "What is the capital of France? The capital of France is Paris.",
    "How many experts does the model use per token? It uses four of them in every layer.",
    "Der Router wählt für jedes Token die besten Experten aus. Les experts sont choisis par le routeur.",
    "Numbers 0 1 2 3 4 5 6 7 8 9 10 42 1234 and symbols: (a + b) * c = d; x -> y; {key: value}.",
    "def route(tokens):\n    return [gate(t).topk(4) for t in tokens]\n",
    "路由器为每个词元选择专家。 Emoji too: 🙂 🚀.",
]

SEED = 1234


def make_tokenizer(directory: Path) -> dict[str, int]:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2, show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.save_pretrained(str(directory))
    assert tok.get_vocab_size() <= VOCAB, tok.get_vocab_size()
    return {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}


def qwen3_moe_config(special: dict[str, int]):
    from transformers import Qwen3MoeConfig

    return Qwen3MoeConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=96, moe_intermediate_size=32,
        num_hidden_layers=4, mlp_only_layers=[1],  # layer 1 is dense: MoE layers are 0, 2, 3
        num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        num_experts=16, num_experts_per_tok=4, norm_topk_prob=True,
        max_position_embeddings=512, initializer_range=0.1, tie_word_embeddings=False,
        bos_token_id=special["<|endoftext|>"], eos_token_id=[special["<|im_end|>"], special["<|endoftext|>"]],
    )


def gpt_oss_config(special: dict[str, int]):
    from transformers import GptOssConfig

    return GptOssConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=32,
        num_hidden_layers=4, layer_types=["sliding_attention", "full_attention"] * 2, sliding_window=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        num_local_experts=12, num_experts_per_tok=4,
        max_position_embeddings=512, initializer_range=0.1,
        rope_parameters={
            "rope_type": "yarn", "rope_theta": 150000.0, "factor": 4.0, "beta_fast": 32.0, "beta_slow": 1.0,
            "truncate": False, "original_max_position_embeddings": 128,
        },
        bos_token_id=special["<|endoftext|>"], eos_token_id=special["<|im_end|>"],
        pad_token_id=special["<|endoftext|>"],
    )


def hub_style_config(path: Path) -> None:
    """Rewrite config.json with the key names the real Hub checkpoints use (Qwen3-30B-A3B,
    gpt-oss-20b): `num_experts` for Qwen, `rope_theta` + `rope_scaling` instead of transformers
    5's `rope_parameters`. Every transformers 5.x reads these; 5.0 does not read 5.23's own names."""
    config = json.loads(path.read_text())
    if config["model_type"] == "qwen3_moe":
        config["num_experts"] = config.pop("num_local_experts")
    rope = dict(config.pop("rope_parameters"))
    config["rope_theta"] = rope.pop("rope_theta")
    config["rope_scaling"] = None if rope.get("rope_type") == "default" else rope
    path.write_text(json.dumps(dict(sorted(config.items())), indent=2) + "\n")


def make_checkpoint(name: str, make_config, out: Path) -> Path:
    from transformers import AutoModelForCausalLM

    directory = out / "hf" / name
    directory.mkdir(parents=True, exist_ok=True)
    special = make_tokenizer(directory)
    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(make_config(special), dtype=torch.float32)
    model.save_pretrained(str(directory))
    hub_style_config(directory / "config.json")
    return directory


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=TOOLS.parent / "tests" / "data" / "torchscript")
    out = p.parse_args().out
    for name, make_config in (("qwen3_moe_tiny", qwen3_moe_config), ("gpt_oss_tiny", gpt_oss_config)):
        checkpoint = make_checkpoint(name, make_config, out)
        data = export(ExportOptions(source=str(checkpoint), out=out / f"{name}.pt", seq_len=8, verify_seq_len=13))
        v = data["verification"]
        print(f"{name}: logits diff {v['max_abs_logit_diff']:.3g}, top-k mismatches {v['topk_mismatches']}, "
              f"near ties {v['near_ties']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
