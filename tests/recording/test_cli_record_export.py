#!/usr/bin/env python3
"""CLI tests for `moeroute record` on the exporter's fixtures (tests/data/torchscript), checked
independently: the trace is read with the `safetensors` package, the routing rule named in the
export's sidecar is recomputed with NumPy from the recorded router logits, and the prompt's
token ids are decoded with the fixture's own tokenizer.json vocabulary (byte-level BPE). Run by
ctest as
    python test_cli_record_export.py MOEROUTE_BINARY FIXTURE_DIR [unittest args]
"""
import json
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

MOEROUTE = None
FIXTURES = None


def run(*args):
    return subprocess.run([MOEROUTE, "record", *args], capture_output=True, text=True, timeout=300)


def load(path):
    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()["moeroute.trace"])
    return load_file(str(path)), meta


def bytes_to_unicode():
    """GPT-2's byte ↔ printable-character map used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def decoder(tokenizer_json):
    """ids → text with the vocabulary of tokenizer.json (specials verbatim)."""
    t = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    pieces = {i: s for s, i in t["model"]["vocab"].items()}
    specials = {a["id"]: a["content"] for a in t["added_tokens"]}
    byte_of = {c: b for b, c in bytes_to_unicode().items()}

    def decode(ids):
        out = bytearray()
        for i in ids:
            i = int(i)
            if i in specials:
                out += specials[i].encode()
            else:
                out += bytes(byte_of[c] for c in pieces[i])
        return out.decode("utf-8")

    return decode, {a["content"]: a["id"] for a in t["added_tokens"]}


def expected_routing(rule, norm, k, z):
    """The sidecar's rule (docs/export.md) on logits z [..., E], in float64; ties → lower id."""
    z = z.astype(np.float64)
    if rule == "softmax_topk":
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        ids = np.argsort(-p, axis=-1, kind="stable")[..., :k]
        w = np.take_along_axis(p, ids, -1)
        if norm:
            w /= w.sum(-1, keepdims=True)
        return ids, w
    assert rule == "topk_softmax", rule
    ids = np.argsort(-z, axis=-1, kind="stable")[..., :k]
    v = np.take_along_axis(z, ids, -1)
    w = np.exp(v - v.max(-1, keepdims=True))
    return ids, w / w.sum(-1, keepdims=True)


class RecordExport(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def check_fixture(self, name):
        pt = FIXTURES / f"{name}.pt"
        side = json.loads((FIXTURES / f"{name}.pt.json").read_text())
        decode, _ = decoder(FIXTURES / side["tokenizer"]["dir"] / "tokenizer.json")
        out = self.dir / f"{name}.safetensors"
        prompt = "Which expert routes this token? Ünïcode too."
        r = run("--model", str(pt), "--prompt", prompt, "--max-new-tokens", "4", "-o", str(out))
        self.assertEqual(r.returncode, 0, r.stderr)
        a, meta = load(out)

        k, rule, norm = side["top_k"], side["routing_rule"], side["norm_topk_prob"]
        text = f"softmax_topk(k={k},norm_topk_prob={str(norm).lower()})" if rule == "softmax_topk" else f"topk_softmax(k={k})"
        self.assertEqual(meta["routing_rule"], text)
        self.assertEqual([l["index"] for l in meta["layers"]], side["moe_layers"])
        self.assertEqual([l["name"] for l in meta["layers"]], side["gate_paths"])
        self.assertEqual(Path(meta["model_id"]).resolve(), (FIXTURES / side["source"]).resolve())
        self.assertEqual(meta["extra"]["chat_template"], "raw")  # the tiny tokenizers have no chat template

        n = meta["prompt_length"]
        self.assertEqual(decode(a["token_ids"][:n]), prompt)  # raw template: the prompt as is
        L, T = len(side["moe_layers"]), meta["num_positions"]
        self.assertEqual(a["router_logits"].shape, (L, T, side["num_experts"]))
        ids, w = expected_routing(rule, norm, k, a["router_logits"])
        np.testing.assert_array_equal(a["topk_ids"], ids)
        # The recorder's float32 rule (E + k + 4 float32 roundings of weights ≤ 1,
        # tests/recording/test_hooks.cpp) against NumPy's in double.
        np.testing.assert_allclose(a["gate_weights"], w, rtol=0, atol=4 * (side["num_experts"] + k + 4) * 2.0 ** -24)

        # Generation stops at the sidecar's eos_token_id, else after 4 tokens.
        eos = side["eos_token_id"] if isinstance(side["eos_token_id"], list) else [side["eos_token_id"]]
        generated = list(a["token_ids"][n:])
        if generated and generated[-1] in eos:
            self.assertEqual(meta["extra"]["stop_reason"], "stop_token")
        else:
            self.assertEqual(len(generated), 4)
            self.assertEqual(meta["extra"]["stop_reason"], "max_new_tokens")
        self.assertFalse(any(t in eos for t in generated[:-1]))

    def test_qwen3_moe(self):
        self.check_fixture("qwen3_moe_tiny")

    def test_gpt_oss(self):
        self.check_fixture("gpt_oss_tiny")

    def test_system_and_template(self):
        side = json.loads((FIXTURES / "qwen3_moe_tiny.pt.json").read_text())
        decode, special = decoder(FIXTURES / side["tokenizer"]["dir"] / "tokenizer.json")
        out = self.dir / "chat.safetensors"
        r = run("--model", str(FIXTURES / "qwen3_moe_tiny.pt"), "--system", "Be brief.", "--prompt", "Hi there",
                "--chat-template", "chatml", "--max-new-tokens", "1", "-o", str(out))
        self.assertEqual(r.returncode, 0, r.stderr)
        a, meta = load(out)
        prompt = a["token_ids"][: meta["prompt_length"]]
        # ChatML as transformers' Qwen templates render it (docs/chat-templates.md).
        self.assertEqual(decode(prompt), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there"
                                         "<|im_end|>\n<|im_start|>assistant\n")
        self.assertEqual(int(prompt[0]), special["<|im_start|>"])  # a special token, not its characters
        self.assertEqual(meta["extra"]["chat_template"], "chatml")
        # raw joins system and user with a blank line.
        r = run("--model", str(FIXTURES / "qwen3_moe_tiny.pt"), "--system", "S", "--prompt", "U",
                "--max-new-tokens", "1", "-o", str(out))
        self.assertEqual(r.returncode, 0, r.stderr)
        a, meta = load(out)
        self.assertEqual(decode(a["token_ids"][: meta["prompt_length"]]), "S\n\nU")

    def test_bad_template_and_sidecar_exit_2(self):
        out = self.dir / "bad.safetensors"
        r = run("--model", str(FIXTURES / "qwen3_moe_tiny.pt"), "--prompt", "x", "--chat-template", "nonesuch",
                "-o", str(out))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("neither a built-in", r.stderr)
        self.assertFalse(out.exists())
        pt = self.dir / "q.pt"
        shutil.copy(FIXTURES / "qwen3_moe_tiny.pt", pt)
        side = json.loads((FIXTURES / "qwen3_moe_tiny.pt.json").read_text())
        side["top_k"] = "four"
        (self.dir / "q.pt.json").write_text(json.dumps(side))
        r = run("--model", str(pt), "--prompt", "x", "-o", str(out))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, re.escape(f"{pt}.json:") + r"1:\d+: field 'top_k': expected an integer")
        self.assertFalse(out.exists())


if __name__ == "__main__":
    MOEROUTE = sys.argv.pop(1)
    FIXTURES = Path(sys.argv.pop(1))
    unittest.main()
