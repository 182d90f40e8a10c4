#!/usr/bin/env python3
"""CLI tests for `moeroute record` on builtin:tiny-moe, checked independently: the trace is read
with the `safetensors` package and the top-k ids/weights are recomputed with NumPy from the
recorded logits (softmax → top-k → renormalise, the model's rule). Run by ctest as
    python test_cli_record.py MOEROUTE_BINARY [unittest args]
"""
import json
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

MOEROUTE = None


def run(*args, stdin=None):
    return subprocess.run([MOEROUTE, "record", *args], input=stdin, capture_output=True, text=True, timeout=300)


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def load(path):
    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()["moeroute.trace"])
    return load_file(str(path)), meta


class Record(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_trace_matches_rule_and_prompt(self):
        out = self.dir / "t.safetensors"
        r = run("--model", "builtin:tiny-moe", "--prompt", "Hello MoE", "--template", "raw", "--max-new-tokens", "5",
                "-o", str(out))
        self.assertEqual(r.returncode, 0, r.stderr)
        a, meta = load(out)
        self.assertEqual(meta["prompt_length"], len(b"Hello MoE"))  # byte-level tokenizer
        self.assertEqual(meta["num_positions"], 9 + 5)
        self.assertEqual(meta["routing_rule"], "softmax_topk(k=4,norm_topk_prob=true)")
        self.assertEqual([l["name"] for l in meta["layers"]], [f"model.layers.{i}.mlp.gate" for i in range(4)])
        self.assertEqual(list(a["token_ids"][:9]), list(b"Hello MoE"))
        self.assertEqual(a["topk_ids"].shape, (4, 14, 4))
        self.assertEqual(a["router_logits"].shape, (4, 14, 16))
        z = a["router_logits"].astype(np.float64)
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        ids = np.argsort(-p, axis=-1, kind="stable")[..., :4]
        w = np.take_along_axis(p, ids, -1)
        w /= w.sum(-1, keepdims=True)
        np.testing.assert_array_equal(a["topk_ids"], ids)
        # The recorder's float32 softmax + renormalisation (E + k + 4 float32 roundings of weights
        # ≤ 1, tests/recording/test_hooks.cpp) against NumPy's in double.
        np.testing.assert_allclose(a["gate_weights"], w, rtol=0, atol=4 * (16 + 4 + 4) * 2.0 ** -24)

    def test_options_layers_no_logits_bf16_stdin(self):
        out = self.dir / "s.safetensors"
        r = run("--input", "-", "--layers", "3,1", "--no-logits", "--temperature", "0.7", "--seed", "5",
                "--max-new-tokens", "3", "-o", str(out), stdin="Tell me a story")
        self.assertEqual(r.returncode, 0, r.stderr)
        a, meta = load(out)
        self.assertNotIn("router_logits", a)
        self.assertEqual([l["index"] for l in meta["layers"]], [1, 3])
        out2 = self.dir / "s2.safetensors"
        r = run("--input", "-", "--layers", "3,1", "--no-logits", "--temperature", "0.7", "--seed", "5",
                "--max-new-tokens", "3", "-o", str(out2), stdin="Tell me a story")
        self.assertEqual(out.read_bytes(), out2.read_bytes(), "same seed, same trace")
        out3 = self.dir / "b.safetensors"
        r = run("--prompt", "x", "--logits-dtype", "bf16", "--max-new-tokens", "2", "-o", str(out3))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(header(out3)["router_logits"]["dtype"], "BF16")

    def test_bad_input_exit_2_nothing_written(self):
        out = self.dir / "bad.safetensors"
        cases = [
            (["--prompt", "x", "--max-new-tokens", "0"], "max_new_tokens"),
            (["--prompt", "x", "--model", str(self.dir / "missing.pt")], "no such file"),
            (["--prompt", "x", "--top-k", "17"], "larger than the model's 16 experts"),
            (["--prompt", "x", "--layers", "7"], "layer 7 is not a MoE layer"),
            (["--prompt", "x", "--device", "nonsense"], "device"),
            (["--prompt", "x", "--routing-rule", "switch"], "unknown name 'switch'"),
            ([], "--prompt or --input"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = run(*args, "-o", str(out))
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(message, r.stderr)
                self.assertFalse(out.exists())
        junk = self.dir / "junk.pt"
        junk.write_text("not a TorchScript zip")
        r = run("--prompt", "x", "--model", str(junk), "-o", str(out))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not a TorchScript file", r.stderr)


if __name__ == "__main__":
    MOEROUTE = sys.argv.pop(1)
    unittest.main()
