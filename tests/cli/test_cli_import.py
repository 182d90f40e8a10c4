#!/usr/bin/env python3
"""CLI tests for `moeroute import`, `diff` of imported traces, `gate-inputs` and `training`,
checked against independent Python readings of the same files (NumPy decodes of the engines'
encodings, a re-implementation of the llama.cpp position rule). Run by ctest as
    python test_cli_import.py MOEROUTE_BINARY DATA_DIR CASE
"""
import base64
import csv
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

from cli_util import run as run_binary
from fp_tolerance import fp64_tolerance
from reference import load

MOEROUTE = DATA = None


def run(*args):
    return run_binary(MOEROUTE, *args)


def imported(tmp, *args):
    out = Path(tmp) / "t.safetensors"
    r = run("import", *args, "-o", out)
    assert r.returncode == 0, r.stderr
    return load(out)


def vllm_033_reference(path):
    """Rows of the 0.33 layout read with NumPy: base64 .npy per choice, dense layers (all zero)
    dropped, rows right-aligned to end one before the last token."""
    ids, tokens, positions, segments, sequences = [], [], [], [], []
    for s, line in enumerate(open(path)):
        rec = json.loads(line)
        prompt = rec["prompt_token_ids"]
        for c in rec["choices"]:
            arr = np.load(io.BytesIO(base64.b64decode(c["routed_experts"])))
            out = c["token_ids"]
            first = len(prompt) + len(out) - 1 - arr.shape[0]
            for r in range(arr.shape[0]):
                p = first + r
                ids.append(arr[r]), positions.append(p), segments.append(int(p >= len(prompt)))
                tokens.append((prompt + out)[p]), sequences.append(s)
    ids = np.stack(ids).transpose(1, 0, 2)
    moe = [l for l in range(ids.shape[0]) if ids[l].any()]
    return ids[moe].astype(np.int32), moe, tokens, positions, segments, sequences


def llama_reference(lines):
    """The documented rule (docs/import.md, llama.cpp): a layer number that does not increase ends
    a forward pass; a multi-token pass after decode passes starts a new sequence."""
    passes, cur = [], []
    for layer, ids in lines:
        if cur and (layer < cur[-1][0] or (layer != cur[-1][0] and layer in {l for l, _ in cur})):
            passes.append(cur)
            cur = []
        cur.append((layer, ids))
    passes.append(cur)
    seq, pos, seg, decoding, started = 0, 0, [], False, False
    rows = []
    for p in passes:
        layers = sorted({l for l, _ in p})
        n = sum(1 for l, _ in p if l == layers[0])
        if n > 1:
            if decoding or pos == 0:
                if decoding or started:
                    seq += 1
                pos = 0
            decoding = False
        elif pos > 0:
            decoding = True
        for t in range(n):
            rows.append((seq, pos + t, int(decoding)))
        pos += n
        started = True
    return rows


class ImportMatchesReference(unittest.TestCase):
    def test_vllm_033(self):
        with tempfile.TemporaryDirectory() as tmp:
            arrays, meta = imported(tmp, DATA / "vllm_033.jsonl")
            ids, moe, tokens, positions, segments, sequences = vllm_033_reference(DATA / "vllm_033.jsonl")
            np.testing.assert_array_equal(arrays["topk_ids"], ids)
            self.assertEqual([l["index"] for l in meta["layers"]], moe)
            self.assertEqual(arrays["token_ids"].tolist(), tokens)
            self.assertEqual(arrays["positions"].tolist(), positions)
            self.assertEqual(arrays["segments"].tolist(), segments)
            self.assertEqual(arrays["sequence_ids"].tolist(), sequences)

    def test_megatron_logits_sidecar(self):
        with tempfile.TemporaryDirectory() as tmp:
            arrays, meta = imported(tmp, DATA / "megatron" / "router_trace_rank0.jsonl")
            recs = [json.loads(l) for l in open(DATA / "megatron" / "router_trace_rank0.jsonl")]
            recs = [r for r in recs if r["block"] == "decoder"]
            raw = np.fromfile(DATA / "megatron" / "logits_rank0.bin", dtype="<u2")
            for li, layer in enumerate(sorted({r["layer"] for r in recs})):
                mine = [r for r in recs if r["layer"] == layer]
                ids = np.concatenate([np.array(r["top_indices"]) for r in mine])
                np.testing.assert_array_equal(arrays["topk_ids"][li], ids)
                # bfloat16 → float32 by shifting into the high half, independently of moeroute.
                logits = np.concatenate([
                    (raw[r["logit_offset"] // 2:(r["logit_offset"] + r["logit_bytes"]) // 2].astype(np.uint32) << 16)
                    .view(np.float32).reshape(r["logit_shape"]) for r in mine])
                np.testing.assert_array_equal(arrays["router_logits"][li], logits)

    def test_sglang_stat_counts_csv(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "counts.csv"
            r = run("import", DATA / "sglang_stat.pt", "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            want = np.load(DATA / "expected_sglang_logical_count.npy")
            rows = list(csv.DictReader(open(out)))
            got = np.zeros_like(want)
            for row in rows:
                got[int(row["pass"]), int(row["layer"]), int(row["expert"])] = int(row["count"])
            np.testing.assert_array_equal(got, want)
            r = run("import", DATA / "sglang_stat.pt", "-o", Path(tmp) / "t.safetensors")
            self.assertEqual(r.returncode, 2)
            self.assertIn("ending in .csv", r.stderr)

    def test_llama_cpp_positions(self):
        rng = np.random.default_rng(11)
        layers = [3, 4, 5]
        lines = []
        for n_prompt, n_decode in ((6, 3), (2, 4), (1, 2)):  # three requests, one with a 1-token prompt
            for n in [n_prompt] + [1] * n_decode:
                for l in layers:
                    lines += [(l, rng.permutation(16)[:4].tolist()) for _ in range(n)]
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "moe.log"
            log.write_text("layer_id,expert_ids\n" + "".join(f"{l},{' '.join(map(str, ids))}\n" for l, ids in lines))
            arrays, meta = imported(tmp, log, "--num-experts", "16")
            want = llama_reference(lines)
            got = list(zip(arrays["sequence_ids"].tolist(), arrays["positions"].tolist(), arrays["segments"].tolist()))
            self.assertEqual(got, want)
            first_layer = [ids for l, ids in lines if l == 3]
            np.testing.assert_array_equal(arrays["topk_ids"][0], np.array(first_layer))


class DiffOfImportedTraces(unittest.TestCase):
    def agreement(self, var):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            r = run("diff", DATA / "truth_a.safetensors", var, "--out", out, "--no-plots")
            self.assertEqual(r.returncode, 0, r.stderr)
            return (json.loads((out / "topk_agreement.json").read_text()),
                    list(csv.DictReader(open(out / "topk_agreement_layers.csv"))))

    def test_zero_flips_when_they_agree(self):
        summary, layers = self.agreement(DATA / "vllm_033.jsonl")
        self.assertEqual(summary["alignment"], "tokens")
        self.assertEqual(summary["flip_rate"], 0.0)
        self.assertEqual(summary["steps"], 8)
        self.assertEqual([float(l["mean_jaccard"]) for l in layers], [1.0, 1.0, 1.0])

    def test_right_counts_when_they_do_not(self):
        truth, _ = load(DATA / "truth_a.safetensors")
        lines = [json.loads(l) for l in open(DATA / "vllm_033.jsonl")]
        c = lines[0]["choices"][0]
        arr = np.load(io.BytesIO(base64.b64decode(c["routed_experts"])))
        changes = [(2, 1), (6, 2), (6, 3), (7, 2)]  # (position, decoder layer)
        for pos, layer in changes:
            arr[pos, layer, 1] = next(e for e in range(8) if e not in arr[pos, layer])
        buf = io.BytesIO()
        np.save(buf, arr)
        c["routed_experts"] = base64.b64encode(buf.getvalue()).decode()
        with tempfile.TemporaryDirectory() as tmp:
            var = Path(tmp) / "changed.jsonl"
            var.write_text("".join(json.dumps(l) + "\n" for l in lines))
            summary, layers = self.agreement(var)
        # Reference: sets per (moe layer, position) from NumPy.
        moe = arr[:, 1:, :]
        a, b = truth["topk_ids"], moe.transpose(1, 0, 2)
        jac = np.array([[len(set(a[l, p]) & set(b[l, p])) / len(set(a[l, p]) | set(b[l, p])) for p in range(8)]
                        for l in range(3)])
        flips = jac < 1
        self.assertEqual(summary["steps_with_flip"], 3)
        # The flip rate is one division of integers (exact, as NumPy's mean of booleans); the mean
        # Jaccard sums 24 quotients in another order than NumPy.
        self.assertEqual(summary["flip_rate"], flips.mean())
        self.assertAlmostEqual(summary["mean_jaccard"], jac.mean(), delta=fp64_tolerance(24 + 1))
        self.assertEqual([int(l["flips"]) for l in layers], flips.sum(axis=1).tolist())

    def test_token_mismatch_is_refused(self):
        lines = [json.loads(l) for l in open(DATA / "vllm_033.jsonl")]
        lines[0]["prompt_token_ids"][3] += 1
        with tempfile.TemporaryDirectory() as tmp:
            var = Path(tmp) / "other.jsonl"
            var.write_text("".join(json.dumps(l) + "\n" for l in lines))
            r = run("diff", DATA / "truth_a.safetensors", var, "--out", Path(tmp) / "out")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("differ at position 3", r.stderr)
            self.assertFalse((Path(tmp) / "out").exists())


class RejectsBadInput(unittest.TestCase):
    def test_bad_lines_and_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "bad.log"
            log.write_text("3,1 2\n3,1 x\n")
            r = run("import", log, "-o", Path(tmp) / "t.safetensors", "--num-experts", "8")
            self.assertEqual(r.returncode, 2)
            self.assertIn("bad.log:2:5: expected an expert id", r.stderr)
            self.assertFalse((Path(tmp) / "t.safetensors").exists())
            r = run("import", log, "-o", Path(tmp) / "t.safetensors", "--num-experts", "8", "--skip-bad-lines")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("skipped 1 bad lines/records", r.stdout)
            r = run("import", Path(tmp) / "missing.log", "-o", Path(tmp) / "t.safetensors")
            self.assertEqual(r.returncode, 2)
            self.assertIn("no such file", r.stderr)
            r = run("import", DATA / "vllm_033.jsonl", "-o", "/proc/moeroute-test/t.safetensors")
            self.assertEqual(r.returncode, 3, r.stderr)
            r = run("import", DATA / "vllm_033.jsonl", "-o", Path(tmp) / "t.safetensors", "--layer-map", "3-1")
            self.assertEqual(r.returncode, 2)
            self.assertIn("runs backwards", r.stderr)


class OtherCommands(unittest.TestCase):
    def test_gate_inputs_json(self):
        r = run("gate-inputs", DATA / "gate_inputs.log", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)
        want = json.loads((DATA / "gate_inputs_expected.json").read_text())
        self.assertEqual(got["steps"], want["steps"])
        for g, w in zip(got["pairs"], want["pairs"]):
            for m in ("cosine_similarity", "euclidean", "pearson"):
                # Sums of 48 products per step, a few √ and ÷, then a mean of 5 (test_gate_inputs.cpp).
                self.assertAlmostEqual(g[m]["mean"], w[m]["mean"], delta=fp64_tolerance(3 * 48 + 5, 10))

    def test_training_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "training_log.txt"
            log.write_text("".join(json.dumps({"epoch": e, "entropy": 1.5 - 0.1 * e, "routing_acc": 0.5 + 0.05 * e,
                                               "utilization": [0.5, 0.3, 0.2], "metrics": {"accuracy": 0.5, "loss": 2.0 - 0.1 * e}})
                                   + "\n" for e in range(1, 6)))
            out = Path(tmp) / "out"
            r = run("training", log, "-o", out, "--collapse-share", "0.45")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("routing collapse: expert 0", r.stdout)
            d = json.loads((out / "diagnosis.json").read_text())
            self.assertEqual(d["thresholds"]["collapse_share"], 0.45)
            slope = np.polyfit(np.arange(1, 6), 1.5 - 0.1 * np.arange(1, 6), 1)[0]
            # Our closed-form least squares against polyfit's SVD solve (condition number of the
            # 5-point Vandermonde matrix < 10): ≤ 100 operations on values ≤ 25.
            self.assertAlmostEqual(d["trends"]["entropy"]["slope_per_epoch"], slope, delta=fp64_tolerance(100, 25))
            for f in ("expert_utilization.png", "router_entropy.png", "routing_accuracy.png", "loss_accuracy.png"):
                self.assertTrue((out / f).stat().st_size > 0)


class StatsOfImports(unittest.TestCase):
    """`stats` opens every file `import` reads (through for_each_trace_chunk): its per-layer expert
    counts against the fixtures' expected traces, written independently of moeroute."""
    CASES = [("vllm_033.jsonl", [], "expected_vllm_033.safetensors"),
             ("vllm_021.jsonl", ["--layer-map", "1-3"], "expected_requests.safetensors"),
             ("vllm_request_a.npz", [], "truth_a.safetensors"),
             ("vllm_routed_a.npy", ["--layer-map", "1,2,3"], "truth_a.safetensors"),
             ("sglang_per_token.pt", [], "expected_sglang_per_token.safetensors"),
             ("sglang_generate.jsonl", ["--top-k", "2"], "expected_requests.safetensors"),
             ("megatron/router_trace_rank0.jsonl", [], "expected_megatron.safetensors")]

    @staticmethod
    def counts(arrays, meta):
        ids = arrays["topk_ids"].astype(np.int64)
        experts = meta["num_experts"]
        if "physical_to_logical" in arrays:  # physical slots → the logical experts they run
            ids = np.stack([arrays["physical_to_logical"][l][ids[l]] for l in range(ids.shape[0])])
            experts = meta["num_logical_experts"]
        return [np.bincount(ids[l].ravel(), minlength=experts).tolist() for l in range(ids.shape[0])]

    def stats(self, path, *args):
        r = run("stats", path, "--json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_every_importable_fixture(self):
        for name, args, expected in self.CASES:
            with self.subTest(name):
                s = self.stats(DATA / name, *args)
                arrays, meta = load(DATA / expected)
                self.assertEqual(s["tokens"], arrays["topk_ids"].shape[1])
                self.assertEqual([l["index"] for l in s["layers"]], [l["index"] for l in meta["layers"]])
                self.assertEqual([[e["count"] for e in l["experts"]] for l in s["layers"]], self.counts(arrays, meta))

    def test_llama_cpp_log(self):
        rng = np.random.default_rng(5)
        lines = []
        for n in [7] + [1] * 5 + [3] + [1] * 2:  # two requests with decode steps
            for l in (1, 2):
                lines += [(l, rng.permutation(8)[:2].tolist()) for _ in range(n)]
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "moe.log"
            log.write_text("layer_id,expert_ids\n" + "".join(f"{l},{' '.join(map(str, i))}\n" for l, i in lines))
            s = self.stats(log, "--num-experts", "8")
            self.assertEqual(s["tokens"], 7 + 5 + 3 + 2)
            self.assertEqual(s["num_samples"], 2)
            for li, layer in enumerate((1, 2)):
                want = np.bincount([e for l, ids in lines if l == layer for e in ids], minlength=8)
                self.assertEqual([e["count"] for e in s["layers"][li]["experts"]], want.tolist())
            # export reads it too: one JSON Lines record per request and layer.
            out = Path(tmp) / "routing.jsonl"
            r = run("export", log, "--num-experts", "8", "--format", "jsonl", "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            recs = [json.loads(l) for l in out.read_text().splitlines()]
            self.assertEqual([(x["sample_id"], x["layer"], x["num_tokens"]) for x in recs],
                             [(0, 1, 12), (0, 2, 12), (1, 1, 5), (1, 2, 5)])
            first = [ids for l, ids in lines if l == 1][:12]
            self.assertEqual(recs[0]["selected_experts"], first)

    def test_counts_only_dumps_are_refused(self):
        r = run("stats", DATA / "sglang_stat.pt")
        self.assertEqual(r.returncode, 2)
        self.assertIn("counts", r.stderr)

    def test_against_the_trainers_trace(self):
        # vLLM's rollout (request A, then B) against the trainer's trace of request A: A pairs.
        s = self.stats(DATA / "vllm_033.jsonl", "--against", DATA / "truth_a.safetensors")
        a = s["against"]
        self.assertEqual(a["steps"], 8)
        self.assertEqual(a["flip_rate"], 0.0)
        self.assertEqual(a["mean_jsd"], 0.0)
        self.assertEqual(a["sequences_paired"], 1)
        self.assertEqual(a["sequences_only_inputs"], 1)
        self.assertEqual(a["unmatched_inputs"], s["tokens"] - 8)
        self.assertTrue(a["tokens_checked"])


if __name__ == "__main__":
    MOEROUTE, DATA = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
