#!/usr/bin/env python3
"""CLI tests for `moeroute compare` on the built-in demo model: every output exists and agrees
with an independent recomputation from the saved traces (reference.py), in both alignment
modes; bad input is refused before any output appears. Run by ctest as
    python test_cli_compare.py MOEROUTE_BINARY EXAMPLES_DIR [unittest args]
"""
import csv
import json
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

from cli_util import assert_refused
from cli_util import run as run_binary
from cli_util import write_input as write_input_in
from fp_tolerance import fp64_tolerance, jsd_tolerance
from reference import load, reference

MOEROUTE = EXAMPLES = None
OUTPUTS = ["expert_shifts_per_layer_topN.csv", "meta.json", "layers.json", "jsd.csv", "jsd_layer_mean.csv",
           "jsd_heatmap.png", "jsd_layer_mean.png", "base.safetensors", "var.safetensors", "generations.json",
           "base_stepwise.safetensors",
           "noise_floor.csv", "noise_floor.json", "decision_margins.csv", "expert_shifts_noise.csv",
           "topk_agreement.json", "topk_agreement_layers.csv", "topk_agreement_steps.csv", "topk_jaccard.csv",
           "topk_disagreement_heatmap.png"]


def run(*args):
    return run_binary(MOEROUTE, *args)


def softmax(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def write_input(tmp, **fields):
    return write_input_in(EXAMPLES, tmp, **{"max_new_tokens": 12, **fields})


class CompareProducesEveryOutput(unittest.TestCase):
    def check(self, align):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            r = run("compare", write_input(tmp), "--out", out, "--align", align)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sorted(p.name for p in out.iterdir()), sorted(OUTPUTS))
            g = json.loads((out / "generations.json").read_text())
            self.assertEqual(g["align"], align)
            for run_name in ("base", "var"):
                self.assertIn("<|im_start|>system\n", g[run_name]["prompt_text"])
                self.assertTrue(g[run_name]["prompt_text"].endswith("<|im_start|>assistant\n"))
            base, _ = load(out / "base.safetensors")
            var, vm = load(out / "var.safetensors")
            self.assertEqual(list(base["token_ids"]), g["base"]["prompt_ids"] + g["base"]["generated_ids"])
            self.assertEqual(list(var["token_ids"]), g["var"]["prompt_ids"] + g["var"]["generated_ids"])
            if align == "teacher-forced":
                # The variant is scored on exactly the base run's tokens.
                self.assertEqual(g["var"]["generated_ids"], g["base"]["generated_ids"])
                self.assertEqual(g["var"]["stop_reason"], "teacher_forced")
            jsd, shifts, steps, layers = reference(out / "base.safetensors", out / "var.safetensors", "full", 10)
            with open(out / "jsd.csv") as f:
                rows = list(csv.reader(f))
            ours = np.array([[float(x) for x in row[1:]] for row in rows[1:]])
            np.testing.assert_allclose(ours, jsd, rtol=0, atol=jsd_tolerance(16))
            meta = json.loads((out / "meta.json").read_text())
            self.assertEqual(meta["gen_steps_aligned"], steps)
            self.assertEqual(meta["input_len_var"], vm["prompt_length"])
            self.assertEqual(meta["align"], align)
            self.assertEqual(json.loads((out / "layers.json").read_text()), layers)
            self.check_noise_floor(out, jsd, layers)

    def check_noise_floor(self, out, jsd, layers):
        """noise_floor.csv and decision_margins.csv against NumPy/SciPy on the saved traces: the
        floor is the JSD between base.safetensors and base_stepwise.safetensors over base's steps,
        margins the k-th minus (k+1)-th softmax probability of the model's top-4 (docs/metrics.md)."""
        floor, _, fsteps, _ = reference(out / "base.safetensors", out / "base_stepwise.safetensors", "full", 10)
        b, bm = load(out / "base.safetensors")
        s, _ = load(out / "base_stepwise.safetensors")
        self.assertTrue(np.array_equal(b["token_ids"], s["token_ids"]))
        tol = jsd_tolerance(bm["num_experts"])
        with open(out / "noise_floor.csv") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([r["layer"] for r in rows], layers)
        start = bm["prompt_length"] - 1
        for l, r in enumerate(rows):
            self.assertEqual(int(r["steps"]), fsteps)
            self.assertAlmostEqual(float(r["floor_mean_jsd"]), floor[l].mean(), delta=tol + fp64_tolerance(fsteps))
            self.assertAlmostEqual(float(r["floor_max_jsd"]), floor[l].max(), delta=tol)
            self.assertAlmostEqual(float(r["mean_jsd"]), jsd[l].mean(), delta=tol + fp64_tolerance(jsd.shape[1]))
            # Scores: softmax probabilities (Qwen3 rule) of both paths.
            pb = softmax(b["router_logits"][l, start:start + fsteps])
            ps = softmax(s["router_logits"][l, start:start + fsteps])
            self.assertAlmostEqual(float(r["floor_score_delta"]), np.abs(pb - ps).max(), delta=fp64_tolerance(3 * 16))
        with open(out / "decision_margins.csv") as f:
            margins = list(csv.DictReader(f))
        self.assertEqual(len(margins), len(layers) * jsd.shape[1])
        for m in margins[::7]:
            l, step = layers.index(m["layer"]), int(m["step"])
            p = np.sort(softmax(b["router_logits"][l, int(m["base_row"])]))[::-1]
            self.assertAlmostEqual(float(m["margin_base"]), p[3] - p[4], delta=fp64_tolerance(3 * 16))
            self.assertEqual(int(m["base_row"]), start + step)

    def test_teacher_forced(self):
        self.check("teacher-forced")

    def test_free(self):
        self.check("free")

    def test_exported_checkpoint(self):
        """A TorchScript export of a transformers Qwen3-MoE checkpoint (tests/data/torchscript)."""
        export = EXAMPLES.parent / "tests" / "data" / "torchscript" / "qwen3_moe_tiny.pt"
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            r = run("compare", write_input(tmp, max_new_tokens=6), "--out", out, "--model", export, "--no-plots")
            self.assertEqual(r.returncode, 0, r.stderr)
            _, bm = load(out / "base.safetensors")
            self.assertEqual([l["index"] for l in bm["layers"]], [0, 2, 3])  # layer 1 is dense
            self.assertEqual(bm["num_experts"], 16)
            jsd, _, steps, _ = reference(out / "base.safetensors", out / "var.safetensors", "full", 10)
            with open(out / "jsd.csv") as f:
                rows = list(csv.reader(f))
            np.testing.assert_allclose(np.array([[float(x) for x in row[1:]] for row in rows[1:]]), jsd,
                                       rtol=0, atol=jsd_tolerance(bm["num_experts"]))


BUILTINS = ("builtin:tiny-moe", "builtin:tiny-qwen3-moe", "builtin:tiny-gpt-oss")


def read_matrix(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


class IdenticalPromptsGiveExactlyZero(unittest.TestCase):
    """prompt_var == prompt_base: both runs are measured by the same computation (docs/metrics.md,
    "Same arithmetic on both sides"), so every number of every output is exactly zero, on every
    built-in model and in both alignments — not merely small."""

    def check_zero(self, out):
        _, rows = read_matrix(out / "jsd.csv")
        self.assertTrue(rows)
        for row in rows:
            self.assertEqual([float(x) for x in row[1:]], [0.0] * (len(row) - 1), row[0])
        _, rows = read_matrix(out / "jsd_layer_mean.csv")
        self.assertEqual([float(r[1]) for r in rows], [0.0] * len(rows))
        _, rows = read_matrix(out / "expert_shifts_per_layer_topN.csv")
        for layer, expert, base_mass, var_mass, delta, abs_delta in rows:
            self.assertEqual((float(delta), float(abs_delta)), (0.0, 0.0), (layer, expert))
            self.assertEqual(base_mass, var_mass)
        self.assertEqual(json.loads((out / "meta.json").read_text())["mean_divergence"], 0.0)
        base, _ = load(out / "base.safetensors")
        var, _ = load(out / "var.safetensors")
        for field in ("router_logits", "topk_ids", "gate_weights", "token_ids"):
            self.assertTrue(np.array_equal(base[field], var[field]), field)
        # The noise floor's files: the comparison's side is zero too (the floor itself is what two
        # computation paths of one run give, so it need not be).
        with open(out / "noise_floor.csv") as f:
            for row in csv.DictReader(f):
                self.assertEqual(float(row["mean_jsd"]), 0.0)
                self.assertIn(row["times_floor"], ("0", "nan"))
                self.assertEqual(row["margins_within_floor_base"], row["margins_within_floor_var"])
        with open(out / "decision_margins.csv") as f:
            for row in csv.DictReader(f):
                self.assertEqual(row["margin_base"], row["margin_var"])
                self.assertEqual(row["within_floor_base"], row["within_floor_var"])
        with open(out / "expert_shifts_noise.csv") as f:
            for row in csv.DictReader(f):
                self.assertEqual((float(row["abs_delta"]), row["below_floor"]), (0.0, "1"))
        nf = json.loads((out / "noise_floor.json").read_text())
        self.assertEqual(nf["mean_divergence"], 0.0)
        self.assertEqual(nf["decisions_within_floor_base"], nf["decisions_within_floor_var"])
        # Top-k agreement: every set equal.
        agreement = json.loads((out / "topk_agreement.json").read_text())
        self.assertEqual((agreement["flip_rate"], agreement["mean_jaccard"], agreement["order_only_changes"]),
                         (0.0, 1.0, 0))
        _, rows = read_matrix(out / "topk_jaccard.csv")
        for row in rows:
            self.assertEqual({float(x) for x in row[1:]}, {1.0})

    def test_every_builtin_both_alignments(self):
        for model in BUILTINS:
            for align in ("teacher-forced", "free"):
                with self.subTest(model=model, align=align), tempfile.TemporaryDirectory() as tmp:
                    data = json.loads((EXAMPLES / "input.json").read_text())
                    out = Path(tmp) / "out"
                    inp = write_input(tmp, model_id=model, prompt_var=data["prompt_base"], max_new_tokens=8,
                                      align=align)
                    r = run("compare", inp, "--out", out, "--no-plots")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.check_zero(out)


class CompareTakesTheRunOptions(unittest.TestCase):
    """device_map auto and a dtype on every built-in model (CPU): the same options as `record`."""

    def test_device_map_auto_and_dtype(self):
        for model in ("builtin:tiny-moe", "builtin:tiny-qwen3-moe", "builtin:tiny-gpt-oss"):
            with self.subTest(model=model), tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "out"
                r = run("compare", write_input(tmp, model_id=model, device_map="auto", dtype="float32",
                                               max_new_tokens=3), "--out", out, "--no-plots", "--threads", "1")
                self.assertEqual(r.returncode, 0, r.stderr)
                meta = json.loads((out / "meta.json").read_text())
                self.assertEqual(meta["device_map"], "auto")
                self.assertEqual(meta["dtype"], "float32")
                self.assertEqual(meta["device"], "cpu")
                # The flags of `record`, spelled the same, override the file.
                r = run("compare", write_input(tmp, model_id=model, max_new_tokens=3), "--out", Path(tmp) / "o2",
                        "--no-plots", "--device-map", "auto", "--dtype", "bf16", "--top-k", "2")
                self.assertEqual(r.returncode, 0, r.stderr)
                meta = json.loads((Path(tmp) / "o2" / "meta.json").read_text())
                self.assertEqual((meta["dtype"], meta["top_k"]), ("bfloat16", 2))
                trace = Path(tmp) / "t.safetensors"
                r = run("record", "--model", model, "--device-map", "auto", "--dtype", "bf16", "--prompt", "hi",
                        "--max-new-tokens", "2", "-o", trace)
                self.assertEqual(r.returncode, 0, r.stderr)
                _, tm = load(trace)
                self.assertEqual(tm["extra"]["dtype"], "bfloat16")

    def test_flag_errors_name_the_flag(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            r = run("compare", write_input(tmp), "--out", out, "--seed", "-1")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("option --seed: field 'seed': expected an integer in [0, 18446744073709551615]", r.stderr)
            self.assertFalse(out.exists())


class CompareRejectsBadInput(unittest.TestCase):
    def expect_failure(self, input_path, fragment):
        assert_refused(self, MOEROUTE, ["compare", input_path], fragment)

    def test_seed_example_without_its_comma(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "seed.json"
            bad.write_text('{\n  "prompt_base": "a",\n  "device_map": "auto"\n  "topn_per_layer": 10\n}\n')
            self.expect_failure(bad, "seed.json:4:3: invalid JSON")

    def test_wrong_type(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.expect_failure(write_input(tmp, max_new_tokens="many"), "field 'max_new_tokens': expected an integer")

    def test_non_positive_max_new_tokens(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.expect_failure(write_input(tmp, max_new_tokens=0), "max_new_tokens")

    def test_topk_larger_than_experts(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.expect_failure(write_input(tmp, topk=99), "topk = 99 but model 'builtin:tiny-moe' has only 16 experts")

    def test_missing_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.expect_failure(write_input(tmp, model_id="/nonexistent/model.pt"), "/nonexistent/model.pt")

    def test_unknown_field_is_a_warning(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            r = run("compare", write_input(tmp, colour="red", max_new_tokens=2), "--out", out, "--no-plots")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("unknown field 'colour' ignored", r.stderr)


if __name__ == "__main__":
    MOEROUTE, EXAMPLES = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
