#!/usr/bin/env python3
"""Converts the benchmark checkpoint (make_bench_checkpoint.py) to GGUF with llama.cpp's own
converter (convert_hf_to_gguf.py of the source tools/bench/build_llama_cpp.sh unpacked), for the
side by side of docs/performance.md ("Native models").

    VENV/bin/python tools/bench/llama_cpp_convert.py CHECKPOINT_DIR LLAMA_CPP_SRC OUT_DIR

Writes OUT_DIR/model-f32.gguf and OUT_DIR/model-f16.gguf (skipped when present and newer than the
checkpoint). VENV: tools/bench/requirements-native.txt (torch, transformers, tokenizers).

The random checkpoint has no tokenizer, and the converter needs one: OUT_DIR/hf gets symlinks to
the checkpoint's config.json and model.safetensors plus a byte-level BPE of exactly the config's
vocab_size, trained with `tokenizers` on a corpus drawn from NumPy's PCG64 (seed 0) — the same
files on every machine. Its pre-tokenizer is `tokenizers`' plain ByteLevel one, which no model in
the converter's hash table uses, so the converter would refuse it ("BPE pre-tokenizer was not
recognized"): only in that case this script answers "qwen2" (ByteLevel splitting with a regex —
what the Qwen3 models use) by replacing TextModel.get_vocab_base_pre in the imported converter,
never by editing llama.cpp's files. llama-bench times random token ids, so the tokenizer only has
to be valid; the weights are the checkpoint's, converted as they are.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path

import numpy as np

PRE_TOKENIZER_OVERRIDE = "qwen2"
SPECIAL = ["<|pad|>", "<|bos|>", "<|eos|>"]  # ids 0, 1, 2: the config's bos 1 and eos 2


def corpus(n_words: int = 60000) -> list[str]:
    """Lines of random lower-case words with a Zipf-like length/letter skew, so BPE finds merges."""
    rng = np.random.default_rng(0)
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    p = 1.0 / np.arange(1, len(letters) + 1)
    p /= p.sum()
    words = ["".join(rng.choice(letters, size=int(rng.integers(1, 9)), p=p)) for _ in range(n_words)]
    return [" ".join(words[i:i + 12]) for i in range(0, n_words, 12)]


def write_tokenizer(hf: Path, vocab_size: int) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    if tok.get_vocab_size() != vocab_size:
        sys.exit(f"tokenizer: trained {tok.get_vocab_size()} tokens, the config wants {vocab_size}")
    tok.save(str(hf / "tokenizer.json"))
    (hf / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": SPECIAL[1], "eos_token": SPECIAL[2],
        "pad_token": SPECIAL[0], "model_max_length": 32768}, indent=2) + "\n")


def prepare(checkpoint: Path, hf: Path) -> None:
    hf.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        link, target = hf / name, (checkpoint / name).resolve()
        if link.is_symlink() and link.resolve() != target:
            link.unlink()  # another checkpoint of the same directory name
        if not link.is_symlink():
            link.symlink_to(target)
    if not (hf / "tokenizer.json").exists():
        write_tokenizer(hf, json.loads((checkpoint / "config.json").read_text())["vocab_size"])


def convert(src: Path, hf: Path, out: Path, outtype: str) -> None:
    sys.path.insert(0, str(src / "gguf-py"))
    sys.path.insert(0, str(src))
    import convert_hf_to_gguf  # noqa: E402  (the vendored converter, as it is)
    from conversion.base import TextModel  # noqa: E402

    original = TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self, tokenizer) -> str:
        try:
            return original(self, tokenizer)
        except NotImplementedError:
            logging.warning("pre-tokenizer hash not in the converter's table: using %r (tools/bench/"
                            "llama_cpp_convert.py explains why)", PRE_TOKENIZER_OVERRIDE)
            return PRE_TOKENIZER_OVERRIDE

    TextModel.get_vocab_base_pre = get_vocab_base_pre
    tmp = out.with_suffix(".part")
    sys.argv = ["convert_hf_to_gguf.py", str(hf), "--outtype", outtype, "--outfile", str(tmp)]
    convert_hf_to_gguf.main()
    tmp.replace(out)


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    checkpoint, src, out_dir = (Path(a) for a in sys.argv[1:])
    hf = out_dir / "hf"
    prepare(checkpoint, hf)
    stamp = (checkpoint / "model.safetensors").stat().st_mtime
    for outtype in ("f32", "f16"):
        out = out_dir / f"model-{outtype}.gguf"
        if out.exists() and out.stat().st_mtime > stamp:
            print(f"{out}: up to date")
            continue
        # Each conversion in its own process: the converter keeps module-level state.
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                convert(src, hf, out, outtype)
                code = 0
            except BaseException:  # noqa: BLE001  (report, then leave the child without unwinding)
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(f"llama.cpp's converter failed for {outtype}")
        print(f"{out}: {out.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
