#!/usr/bin/env python3
"""CLI tests for `moeroute export`: seed-json loads with the seed's own access pattern (json.load,
samples[i]["layers"][j]["router_logits_sample"]) and holds exactly the trace's numbers; npy arrays
load with numpy.load and equal the shards; jsonl has one record per sample and layer. Traces are
read independently with the `safetensors` package. Run by ctest as
    python test_cli_export.py MOEROUTE_BINARY FIXTURE_DIR EXAMPLES_DIR  [unittest args]
"""
import json
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from cli_util import run as run_binary  # noqa: E402
from make_synthetic_traces import write_safetensors  # noqa: E402

MOEROUTE = FIXTURE = EXAMPLES = None


def run(*args):
    return run_binary(MOEROUTE, *args)


def load(path):
    arrays = load_file(str(path))
    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()["moeroute.trace"])
    return arrays, meta


class Export(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name) / "trace"
        shutil.copytree(FIXTURE, cls.dir, ignore=shutil.ignore_patterns("*.py"))
        assert run("merge", cls.dir).returncode == 0
        index = json.loads((cls.dir / "trace.json").read_text())
        cls.shards = [load(cls.dir / s["file"]) for s in index["shards"]]
        # Per sample (in order): its rows of every array, and its description.
        cls.samples = []
        for arrays, meta in cls.shards:
            for q in meta["sequences"]:
                rows = np.nonzero(arrays["sequence_ids"] == q["id"])[0]
                cls.samples.append((q, {k: arrays[k][:, rows] if arrays[k].ndim == 3 else arrays[k][rows]
                                        for k in arrays}))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_seed_json_with_the_seeds_access_pattern(self):
        out = Path(self.tmp.name) / "seed.json"
        r = run("export", self.dir, "--format", "seed-json", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            data = json.load(f)
        self.assertEqual(list(data), ["config", "strategy", "num_experts", "num_layers", "samples"])
        self.assertEqual(data["config"], "synthetic:4x8-top2")
        self.assertEqual(data["strategy"], "topk_baseline")
        self.assertEqual((data["num_experts"], data["num_layers"]), (8, 4))
        self.assertEqual(len(data["samples"]), 24)
        for i, (q, rows) in enumerate(self.samples):
            sample = data["samples"][i]
            self.assertEqual(list(sample), ["sample_id", "num_tokens", "loss", "layers"])
            self.assertEqual(sample["sample_id"], q["id"])
            self.assertEqual(sample["num_tokens"], q["num_tokens"])
            self.assertEqual(sample["loss"], q["loss"])  # None (null) where the fixture has none
            for j in range(data["num_layers"]):
                layer = sample["layers"][j]
                self.assertEqual(list(layer), ["layer", "router_logits_shape", "router_logits_sample",
                                               "selected_experts", "expert_weights"])
                self.assertEqual(layer["layer"], j)
                logits = np.array(layer["router_logits_sample"])  # the seed's KDE input
                self.assertEqual(list(logits.shape), layer["router_logits_shape"])
                # Shortest round-trip decimals: parsed back to float32 they are the stored bits.
                np.testing.assert_array_equal(logits.astype(np.float32), rows["router_logits"][j])
                np.testing.assert_array_equal(np.array(layer["selected_experts"]), rows["topk_ids"][j])
                np.testing.assert_array_equal(np.array(layer["expert_weights"]).astype(np.float32),
                                              rows["gate_weights"][j])

    def test_seed_json_of_one_trace_and_of_one_label(self):
        out = Path(self.tmp.name) / "one.json"
        r = run("export", EXAMPLES / "synthetic" / "base.safetensors", "-o", out, "--strategy", "baseline")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(out.read_text())
        arrays, meta = load(EXAMPLES / "synthetic" / "base.safetensors")
        self.assertEqual(data["strategy"], "baseline")
        self.assertEqual(len(data["samples"]), 1)
        s = data["samples"][0]
        self.assertEqual((s["sample_id"], s["num_tokens"], s["loss"]), (0, meta["num_positions"], None))
        self.assertEqual(s["layers"][11]["layer"], 11)
        np.testing.assert_array_equal(np.float32(s["layers"][3]["router_logits_sample"]), arrays["router_logits"][3])
        r = run("export", self.dir, "-o", out, "--label", "maths")
        self.assertEqual(r.returncode, 0, r.stderr)
        ids = [s["sample_id"] for s in json.loads(out.read_text())["samples"]]
        self.assertEqual(ids, [i for i in range(24) if i % 3 == 1])

    def test_seed_json_needs_logits(self):
        arrays, meta = load(EXAMPLES / "synthetic" / "base.safetensors")
        del arrays["router_logits"]
        meta["fields"].remove("router_logits")
        path = Path(self.tmp.name) / "nologits.safetensors"
        write_safetensors(path, arrays, {"moeroute.format": "moeroute.trace", "moeroute.format_version": "1",
                                         "moeroute.trace": json.dumps(meta)})
        out = Path(self.tmp.name) / "x.json"
        r = run("export", path, "-o", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn("seed-json needs router logits over all experts and gate weights", r.stderr)
        self.assertFalse(out.exists())
        r = run("export", path, "-o", out, "--format", "jsonl")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_npy_one_array_per_field(self):
        out = Path(self.tmp.name) / "npy"
        r = run("export", self.dir, "--format", "npy", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        for name in ("topk_ids", "gate_weights", "router_logits"):
            got = np.load(out / f"{name}.npy")
            want = np.concatenate([a[name] for a, _ in self.shards], axis=1)
            self.assertEqual(got.dtype, want.dtype)
            np.testing.assert_array_equal(got, want)
        for name in ("token_ids", "sequence_ids", "positions", "segments"):
            np.testing.assert_array_equal(np.load(out / f"{name}.npy"), np.concatenate([a[name] for a, _ in self.shards]))
        meta = json.loads((out / "meta.json").read_text())
        self.assertEqual(meta["num_rows"], sum(a["topk_ids"].shape[1] for a, _ in self.shards))
        self.assertEqual([q["id"] for q in meta["sequences"]], list(range(24)))
        self.assertEqual(meta["token_text"][:3], [f"w{t}" for t in self.shards[0][0]["token_ids"][:3]])

    def test_jsonl_one_record_per_sample_and_layer(self):
        out = Path(self.tmp.name) / "routing.jsonl"
        r = run("export", self.dir, "--format", "jsonl", "-o", out, "--label", "code", "--label", "prose")
        self.assertEqual(r.returncode, 0, r.stderr)
        records = [json.loads(line) for line in out.read_text().splitlines()]
        chosen = [(q, rows) for q, rows in self.samples if q["label"] in ("code", "prose")]
        self.assertEqual(len(records), len(chosen) * 4)
        for i, (q, rows) in enumerate(chosen):
            for j in range(4):
                rec = records[4 * i + j]
                self.assertEqual((rec["sample_id"], rec["label"], rec["layer"]), (q["id"], q["label"], j))
                self.assertEqual(rec["layer_name"], f"model.layers.{j}.mlp.gate")
                self.assertEqual(rec["positions"], list(range(q["num_tokens"])))
                self.assertEqual(rec["token_ids"], rows["token_ids"].tolist())
                np.testing.assert_array_equal(np.array(rec["selected_experts"]), rows["topk_ids"][j])
                np.testing.assert_array_equal(np.float32(rec["router_logits"]), rows["router_logits"][j])


if __name__ == "__main__":
    MOEROUTE, FIXTURE, EXAMPLES = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    unittest.main(argv=[sys.argv[0], *sys.argv[4:]], verbosity=2)
