#!/usr/bin/env python3
"""CLI tests for `moeroute merge` and `moeroute stats` on the committed dataset-trace fixture
(tests/data/dataset_trace, written by its own script, not by moeroute): the merged index against
the rank indexes, every statistic in stats.json against an independent NumPy implementation of
docs/metrics.md (stats_reference.py), the exact merge of separately computed states, and the
refusals. Run by ctest as
    python test_cli_stats.py MOEROUTE_BINARY FIXTURE_DIR EXAMPLES_DIR  [unittest args]
"""
import csv
import json
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import xxhash
from safetensors import safe_open
from safetensors.numpy import load_file

from cli_util import run as run_binary
from fp_tolerance import entropy_tolerance, fp64_tolerance
from stats_reference import compute

MOEROUTE = FIXTURE = EXAMPLES = None


def run(*args):
    return run_binary(MOEROUTE, *args)


def merged_copy(tmp):
    """The fixture copied into tmp and merged; returns the directory."""
    d = Path(tmp) / "trace"
    shutil.copytree(FIXTURE, d, ignore=shutil.ignore_patterns("*.py"))
    r = run("merge", d)
    assert r.returncode == 0, r.stderr
    return d


def chunks_of(index_dir):
    index = json.loads((index_dir / "trace.json").read_text())
    chunks = []
    for s in index["shards"]:
        path = index_dir / s["file"]
        arrays = load_file(str(path))
        with safe_open(str(path), framework="numpy") as f:
            meta = json.loads(f.metadata()["moeroute.trace"])
        arrays["source"] = "run:" + index["run_id"]
        arrays["labels"] = {q["id"]: q["label"] for q in meta["sequences"]}
        arrays["losses"] = {q["id"]: q["loss"] for q in meta["sequences"]}
        arrays["num_tokens"] = {q["id"]: q["num_tokens"] for q in meta["sequences"]}
        arrays["token_text"] = meta["token_text"]
        chunks.append(arrays)
    return index, chunks


# Entropies carry float32 exp/log per token (fp_tolerance.entropy_tolerance for the fixture's
# experts: StatsMatchNumPy.entropy_atol). Statistics of counts are a few double operations on
# integers (fp64_tolerance). Weight sums are float32 weights each rounded to a multiple of 2^-40
# and summed exactly, against NumPy's float64 sum of the same float32 values: ≤ 2^-41 per weight
# plus NumPy's own rounding (≤ n·2^-53 relative), n ≤ the tokens.

class MergeIndexes(unittest.TestCase):
    def test_merged_index_lists_every_shard_once(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = merged_copy(tmp)
            merged = json.loads((d / "trace.json").read_text())
            ranks = [json.loads(p.read_text()) for p in sorted(d.glob("trace-rank*.json"))]
            self.assertTrue(merged["complete"])
            self.assertEqual(merged["selection"], {"rank": 0, "world_size": 1, "origin": "merge"})
            self.assertEqual([s["index"] for s in merged["shards"]], list(range(merged["num_shards"])))
            want = sorted((s for r in ranks for s in r["shards"]), key=lambda s: s["index"])
            self.assertEqual(merged["shards"], want)
            for s in merged["shards"]:  # our XXH64 against the xxhash package, file by file
                self.assertEqual(s["xxh64"], xxhash.xxh64((d / s["file"]).read_bytes()).hexdigest())
            self.assertEqual(merged["merged_from"], [p.name for p in sorted(d.glob("trace-rank*.json"))])

    def test_missing_rank_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp) / "trace"
            shutil.copytree(FIXTURE, d, ignore=shutil.ignore_patterns("*.py"))
            (d / "trace-rank00001-of-00002.json").unlink()
            r = run("merge", d)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("do not cover the dataset: 2 of 5 shards missing (1, 3)", r.stderr)
            self.assertFalse((d / "trace.json").exists())

    def test_unmerged_directory_is_refused_with_a_hint(self):
        r = run("stats", FIXTURE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("run `moeroute merge", r.stderr)


class StatsMatchNumPy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = merged_copy(cls.tmp.name)
        out = Path(cls.tmp.name) / "out"
        r = run("stats", d, "--out", out, "--capacity-factors", "1,1.25", "--min-token-count", "3", "--top-n", "5")
        assert r.returncode == 0, r.stderr
        cls.out = out
        cls.stats = json.loads((out / "stats.json").read_text())
        cls.index, chunks = chunks_of(d)
        cls.E = cls.stats["num_experts"]
        cls.entropy_atol = entropy_tolerance(cls.E)
        cls.ref = compute(chunks, cls.E, top_n=5, min_token_count=3)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_counts_weights_and_balance(self):
        s, ref = self.stats, self.ref
        self.assertEqual(s["tokens"], ref["tokens"])
        self.assertEqual(s["num_samples"], 24)
        self.assertEqual(len(s["samples"]), 24)
        for l, layer in enumerate(s["layers"]):
            self.assertEqual([e["count"] for e in layer["experts"]], ref["counts"][l].tolist())
            self.assertEqual([e["top1_count"] for e in layer["experts"]], ref["top1"][l].tolist())
            n = ref["tokens"]
            np.testing.assert_allclose([e["weight_sum"] for e in layer["experts"]], ref["weight_sum"][l], rtol=0,
                                       atol=n * 2.0 ** -41 + fp64_tolerance(n, np.max(ref["weight_sum"][l])))
            np.testing.assert_allclose([e["utilisation"] for e in layer["experts"]], ref["utilisation"][l], rtol=0,
                                       atol=fp64_tolerance(2))  # count / (N·K)
            self.assertEqual([e["status"] for e in layer["experts"]], ref["status"][l].tolist())
            lb = layer["load_balance"]
            # From E integer counts: a mean, a sum of squares, √ and ÷ (cv ~ 1), or sorted sums.
            self.assertAlmostEqual(lb["cv"], ref["cv"][l], delta=fp64_tolerance(3 * self.E + 4, 4))
            self.assertAlmostEqual(lb["gini"], ref["gini"][l], delta=fp64_tolerance(3 * self.E + 4))
            self.assertAlmostEqual(lb["max_over_mean"], ref["max_over_mean"][l], delta=fp64_tolerance(4, self.E))
            self.assertEqual([c["dropped"] for c in layer["capacity"]], ref["dropped"][l].tolist())
            np.testing.assert_allclose([c["overflow_fraction"] for c in layer["capacity"]], ref["overflow"][l], rtol=0,
                                       atol=fp64_tolerance(2))  # dropped / assigned

    def test_entropies(self):
        for l, layer in enumerate(self.stats["layers"]):
            for kind in ("entropy_full", "entropy_topk"):
                got, want = layer[kind], self.ref[kind][l]
                self.assertEqual(got["count"], want["count"])
                for k in ("mean", "std", "min", "max"):
                    self.assertAlmostEqual(got[k], want[k], delta=self.entropy_atol, msg=f"{kind} {k} layer {l}")
                self.assertEqual(got["histogram"], want["histogram"], f"{kind} layer {l}")

    def test_coactivation_over_all_pairs(self):
        with open(self.out / "coactivation.csv") as f:
            rows = list(csv.DictReader(f))
        names = [l["name"] for l in self.stats["layers"]]
        for l, name in enumerate(names):
            got = np.zeros((self.E, self.E), np.int64)
            for r in rows:
                if r["layer"] == name:
                    got[int(r["expert_a"]), int(r["expert_b"])] = int(r["count"])
            np.testing.assert_array_equal(got, self.ref["coactivation"][l])

    def test_cross_layer(self):
        for got, want in zip(self.stats["cross_layer"], self.ref["cross_layer"]):
            for k, v in want.items():
                # Entropies and mutual information of E × E count tables (≤ 6 operations per cell,
                # terms ≤ log2 of the tokens in size; MI subtracts entropies of that size).
                self.assertAlmostEqual(got[k], v, delta=fp64_tolerance(6 * self.E * self.E, 32), msg=k)

    def test_token_specialisation(self):
        got = self.stats["token_experts"]
        self.assertEqual(len(got), len(self.ref["token_experts"]))
        for g, w in zip(got, self.ref["token_experts"]):
            self.assertEqual(g["assignments"], w["assignments"])
            self.assertEqual(g["distinct_tokens"], w["distinct_tokens"])
            self.assertAlmostEqual(g["vocab_entropy"], w["vocab_entropy"],
                                   delta=fp64_tolerance(6 * g["assignments"] + 2, 32))
            self.assertEqual([(t["token_id"], t["count"], t["occurrences"]) for t in g["top_tokens"]], w["top_tokens"])
            self.assertEqual([(t["token_id"], t["count"], t["occurrences"]) for t in g["specialised_tokens"]],
                             w["specialised_tokens"])
            for t in g["top_tokens"]:
                self.assertEqual(t["text"], f"w{t['token_id']}")

    def test_datasets_and_divergence(self):
        for d in self.stats["datasets"]:
            w = self.ref["datasets"][d["label"]]
            self.assertEqual((d["samples"], d["tokens"]), (w["samples"], w["tokens"]))
            # moeroute sums each loss (and loss × predicted tokens) rounded to a multiple of 2^-40, so
            # that merged shards add exactly (stats_state.h): ≤ 2^-41 per sample, ≤ 2^-41 on the mean
            # and ≤ samples · 2^-41 on the token-weighted one (÷ Σ predicted ≥ 1); then a few double
            # operations on values ≤ 10 against NumPy's float64 sums in another order.
            q = 2.0 ** -41
            self.assertAlmostEqual(d["mean_loss"], w["mean_loss"], delta=q + fp64_tolerance(2 * d["samples"] + 2, 10))
            self.assertAlmostEqual(d["token_weighted_loss"], w["token_weighted_loss"],
                                   delta=d["samples"] * q + fp64_tolerance(3 * d["samples"] + 2, 10))
            self.assertAlmostEqual(d["entropy_full_mean"], w["entropy_full_mean"], delta=self.entropy_atol)
        with open(self.out / "dataset_experts.csv") as f:
            rows = {(r["label"], r["layer"], int(r["expert"])): r for r in csv.DictReader(f)}
        for lab, w in self.ref["datasets"].items():
            for l, name in enumerate(l["name"] for l in self.stats["layers"]):
                for e in range(self.E):
                    self.assertEqual(int(rows[(lab, name, e)]["count"]), w["counts"][l, e])
        for d in self.stats["dataset_divergence"]:
            jsd, mean = self.ref["dataset_divergence"][(d["a"], d["b"])]
            # JSD of two utilisations over E experts; SciPy takes a sqrt that we square back.
            np.testing.assert_allclose(d["jsd"], jsd, rtol=0, atol=fp64_tolerance(6 * self.E + 2, 8))
            self.assertAlmostEqual(d["mean_jsd"], mean, delta=fp64_tolerance(6 * self.E + 2 + len(jsd), 8))

    def test_samples_and_windows(self):
        for s in self.stats["samples"]:
            w = self.ref["samples"][(s["source"], s["id"])]
            self.assertEqual((s["tokens"], s["label"]), (w["tokens"], w["label"]))
            self.assertEqual(s["loss"], w["loss"])
            self.assertAlmostEqual(s["entropy_topk_mean"], w["entropy_topk_mean"], delta=self.entropy_atol)
            np.testing.assert_allclose(s["overflow_fraction"], w["overflow"], rtol=0, atol=fp64_tolerance(2))
        self.assertEqual(len(self.stats["windows"]), len(self.ref["windows"]))
        for g, w in zip(self.stats["windows"], self.ref["windows"]):
            self.assertEqual((g["begin"], g["tokens"]), (w["begin"], w["tokens"]))
            np.testing.assert_allclose(g["entropy"], w["entropy"], rtol=0, atol=fp64_tolerance(6 * self.E, 8))

    def test_every_file_is_there(self):
        for name in ("stats.json", "layers.csv", "experts.csv", "entropy_histogram.csv", "coactivation.csv",
                     "cross_layer.csv", "token_experts.csv", "tokens.csv", "datasets.csv", "dataset_experts.csv",
                     "dataset_divergence.csv", "samples.csv", "windows.csv", "window_experts.csv",
                     "expert_frequency.txt"):
            self.assertTrue((self.out / name).exists(), name)


class StatsMergeExactly(unittest.TestCase):
    def test_rank_states_merge_to_the_one_pass_result(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = merged_copy(tmp)
            t = Path(tmp)
            r = run("stats", d, "--out", t / "one", "-q")
            self.assertEqual(r.returncode, 0, r.stderr)
            for rank in (0, 1):
                r = run("stats", d / f"trace-rank{rank:05d}-of-00002.json", "--save-state", t / f"r{rank}.stats", "-q")
                self.assertEqual(r.returncode, 0, r.stderr)
            r = run("stats", t / "r1.stats", t / "r0.stats", "--out", t / "merged", "-q")
            self.assertEqual(r.returncode, 0, r.stderr)
            for f in sorted((t / "one").iterdir()):
                self.assertEqual(f.read_bytes(), (t / "merged" / f.name).read_bytes(), f.name)


class StatsRejectsBadInput(unittest.TestCase):
    def test_traces_of_different_models(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = merged_copy(tmp)
            r = run("stats", d, EXAMPLES / "synthetic" / "base.safetensors")
            self.assertEqual(r.returncode, 2)
            self.assertIn("traces of different models or shapes cannot be combined", r.stderr)
            self.assertIn("model 'synthetic:12x32-top4' vs 'synthetic:4x8-top2'", r.stderr)

    def test_shard_that_disagrees_with_the_index(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = merged_copy(tmp)
            shard = d / "shard-000002.safetensors"
            data = bytearray(shard.read_bytes())
            data[-5] ^= 1
            shard.write_bytes(bytes(data))
            out = Path(tmp) / "out"
            r = run("stats", d, "--out", out)
            self.assertEqual(r.returncode, 2)
            self.assertIn("shard 2 (", r.stderr)
            self.assertIn("disagrees with the index: its XXH64 is", r.stderr)
            self.assertFalse(out.exists())

    def test_not_a_trace(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "x.safetensors"
            bad.write_bytes(b"nonsense")
            r = run("stats", bad)
            self.assertEqual(r.returncode, 2)
            self.assertIn("x.safetensors: ", r.stderr)


if __name__ == "__main__":
    MOEROUTE, FIXTURE, EXAMPLES = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    unittest.main(argv=[sys.argv[0], *sys.argv[4:]], verbosity=2)
