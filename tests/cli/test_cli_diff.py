#!/usr/bin/env python3
"""CLI tests for `moeroute diff`, checked against an independent reference: traces read with
the `safetensors` package, JSD from SciPy (jensenshannon(p, q, base=2) ** 2), masses and
rankings from NumPy. Run by ctest (tests/cli/CMakeLists.txt) as
    python test_cli_diff.py MOEROUTE_BINARY EXAMPLES_DIR  [unittest args]
"""
import csv
import json
import os
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

from cli_util import assert_refused
from fp_tolerance import fp64_tolerance, jsd_tolerance
from cli_util import run as run_binary
from reference import load, reference

MOEROUTE = EXAMPLES = None


def run(*args):
    return run_binary(MOEROUTE, *args)


class DiffMatchesReference(unittest.TestCase):
    def check(self, kind, topn):
        base, var = EXAMPLES / "base.safetensors", EXAMPLES / "var.safetensors"
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            r = run("diff", base, var, "--out", out, "--dist", kind, "--topn", topn, "--no-plots")
            self.assertEqual(r.returncode, 0, r.stderr)
            jsd, shifts, steps, layers = reference(base, var, kind, topn)
            with open(out / "jsd.csv") as f:
                rows = list(csv.reader(f))
            self.assertEqual(rows[0], ["layer"] + [str(s) for s in range(steps)])
            self.assertEqual([r[0] for r in rows[1:]], layers)
            ours = np.array([[float(x) for x in r[1:]] for r in rows[1:]])
            _, bm = load(base)
            np.testing.assert_allclose(ours, jsd, rtol=0, atol=jsd_tolerance(bm["num_experts"]))
            with open(out / "expert_shifts_per_layer_topN.csv") as f:
                rows = list(csv.reader(f))
            self.assertEqual(rows[0], ["layer", "expert", "base_mass", "var_mass", "delta", "abs_delta"])
            self.assertEqual(len(rows) - 1, len(shifts))
            for got, want in zip(rows[1:], shifts):
                self.assertEqual(got[0], want[0])
                self.assertEqual(int(got[1]), want[1])
                # Masses are sums of S probabilities (≤ 3·E operations each): scale S.
                tol = fp64_tolerance(3 * bm["num_experts"] + steps, steps)
                np.testing.assert_allclose([float(x) for x in got[2:]], want[2:], rtol=0, atol=tol)
            meta = json.loads((out / "meta.json").read_text())
            _, bm = load(base)
            _, vm = load(var)
            self.assertEqual(meta["input_len_base"], bm["prompt_length"])
            self.assertEqual(meta["gen_len_base"], bm["num_positions"] - bm["prompt_length"])
            self.assertEqual(meta["input_len_var"], vm["prompt_length"])
            self.assertEqual(meta["gen_len_var"], vm["num_positions"] - vm["prompt_length"])
            self.assertEqual(meta["gen_steps_aligned"], steps)
            self.assertEqual(meta["distribution"], kind)
            self.assertEqual(json.loads((out / "layers.json").read_text()), layers)

    def test_full_distribution(self):
        self.check("full", 10)

    def test_topk_distribution(self):
        self.check("topk", 5)


class DiffRejectsBadInput(unittest.TestCase):
    def expect_failure(self, base, var, fragment):
        assert_refused(self, MOEROUTE, ["diff", base, var], fragment)

    def test_truncated_trace(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "truncated.safetensors"
            bad.write_bytes((EXAMPLES / "var.safetensors").read_bytes()[:-100])
            self.expect_failure(EXAMPLES / "base.safetensors", bad, "truncated.safetensors: ")

    def test_not_a_trace(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "junk.safetensors"
            bad.write_bytes(b"hello world, not safetensors")
            self.expect_failure(bad, EXAMPLES / "var.safetensors", "junk.safetensors: ")

    def test_unknown_option_value(self):
        r = run("diff", EXAMPLES / "base.safetensors", EXAMPLES / "var.safetensors", "--out", "x", "--dist", "nope")
        self.assertEqual(r.returncode, 2)

    def test_version_and_help(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("moeroute "))
        r = run("diff", "--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--out", "--dist", "--topn", "--metric", "--format"):
            self.assertIn(flag, r.stdout)


if __name__ == "__main__":
    MOEROUTE, EXAMPLES = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
