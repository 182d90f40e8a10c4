#!/usr/bin/env python3
"""CLI tests for `moeroute trace` on the built-in models and the example dataset: a dataset traced
in one run equals the same dataset traced by two ranks (torchrun's RANK/WORLD_SIZE for one,
Slurm's SLURM_PROCID/SLURM_NTASKS for the other) and merged, shard for shard byte for byte; a run
whose last shard was lost resumes and writes the same bytes; `stats` and `export --format
seed-json` read the result (checked against the shards read with the `safetensors` package);
`stats --against` of two models' traces of the same tokens against NumPy; progress and refusals.
Run by ctest as
    python test_cli_trace.py MOEROUTE_BINARY EXAMPLES_DIR CASE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

from reference import load

MOEROUTE = EXAMPLES = None
LAUNCH_VARS = ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS")


def run(*args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    e.update(env or {})
    return subprocess.run([MOEROUTE, *map(str, args)], capture_output=True, text=True, env=e)


def dataset_args():
    d = EXAMPLES / "datasets"
    return ["--dataset", d / "code.jsonl", "--dataset", f"maths={d / 'maths.csv'}", "--dataset", d / "prose.txt",
            "--dataset", d / "dialogue.jsonl", "--chat-template", "qwen3"]


def trace(model, out, *extra, env=None):
    r = run("trace", "--model", model, *dataset_args(), "--shard-size", 5, "--batch-size", 3, "--out", out, *extra,
            env=env)
    assert r.returncode == 0, r.stderr
    return r


def shards(directory, index="trace.json"):
    """Per sample id: (description, rows of every array) from the shards, read with safetensors."""
    idx = json.loads((directory / index).read_text())
    out = {}
    for s in idx["shards"]:
        arrays, meta = load(directory / s["file"])
        for q in meta["sequences"]:
            rows = np.nonzero(arrays["sequence_ids"] == q["id"])[0]
            out[q["id"]] = (q, {k: v[:, rows] if v.ndim == 3 else v[rows] for k, v in arrays.items()})
    return idx, out


class TraceSplitAndResume(unittest.TestCase):
    def test_two_ranks_merged_equal_one_run(self):
        for model in ("builtin:tiny-qwen3-moe", "builtin:tiny-moe"):
            with self.subTest(model=model), tempfile.TemporaryDirectory() as tmp:
                single, split = Path(tmp) / "single", Path(tmp) / "split"
                r = trace(model, single)
                self.assertIn("traced 23 samples", r.stdout)
                r0 = trace(model, split, env={"RANK": "0", "WORLD_SIZE": "2"})
                r1 = trace(model, split, env={"SLURM_PROCID": "1", "SLURM_NTASKS": "2"})
                self.assertIn("moeroute merge", r0.stdout)
                ranks = [json.loads((split / f"trace-rank0000{i}-of-00002.json").read_text()) for i in (0, 1)]
                self.assertEqual([x["selection"]["origin"] for x in ranks], ["RANK/WORLD_SIZE", "SLURM_PROCID/SLURM_NTASKS"])
                self.assertEqual([[s["index"] for s in x["shards"]] for x in ranks], [[0, 2, 4], [1, 3]])
                m = run("merge", split)
                self.assertEqual(m.returncode, 0, m.stderr)
                a = json.loads((single / "trace.json").read_text())
                b = json.loads((split / "trace.json").read_text())
                for key in ("selection", "merged_from"):
                    a.pop(key, None), b.pop(key, None)
                self.assertEqual(a, b)
                for s in a["shards"]:
                    self.assertEqual((single / s["file"]).read_bytes(), (split / s["file"]).read_bytes(), s["file"])
                # A merged index written under another name elsewhere still reads as the dataset trace.
                elsewhere = Path(tmp) / "merged.idx"
                m = run("merge", split, "-o", elsewhere)
                self.assertEqual(m.returncode, 0, m.stderr)
                stats = [run("stats", p, "--json") for p in (single, elsewhere)]
                for r in stats:
                    self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(*[json.loads(r.stdout)["layers"] for r in stats])

    def test_a_lost_shard_is_traced_again(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            trace("builtin:tiny-qwen3-moe", out)
            last = out / "shard-000004.safetensors"
            want = last.read_bytes()
            index = json.loads((out / "trace.json").read_text())
            index["shards"].pop()
            index["complete"] = False
            (out / "trace.json").write_text(json.dumps(index))
            last.unlink()
            r = trace("builtin:tiny-qwen3-moe", out)
            self.assertIn("traced 3 samples", r.stdout)
            self.assertIn("(4 kept from an earlier run)", r.stdout)
            self.assertIn("resuming: 4 of 5 shards", r.stderr)
            self.assertEqual(last.read_bytes(), want)
            self.assertTrue(json.loads((out / "trace.json").read_text())["complete"])


class TraceOutputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name) / "run"
        cls.result = trace("builtin:tiny-qwen3-moe", cls.dir)
        cls.index, cls.samples = shards(cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_samples_tokens_and_labels(self):
        self.assertEqual(sorted(self.samples), list(range(23)))
        labels = [self.samples[i][0]["label"] for i in range(23)]
        self.assertEqual(labels, ["code"] * 6 + ["maths"] * 6 + ["prose"] * 6 + ["dialogue"] * 5)
        for i, (q, rows) in self.samples.items():
            self.assertEqual(q["num_tokens"], len(rows["token_ids"]))
            self.assertEqual(rows["positions"].tolist(), list(range(q["num_tokens"])))
            self.assertTrue((rows["segments"] == 0).all())
            self.assertEqual(rows["router_logits"].shape, (4, q["num_tokens"], 16))
            # The top-k ids are the softmax top-4 of the stored logits (the model's rule).
            top = np.argsort(-rows["router_logits"], axis=2, kind="stable")[:, :, :4]
            self.assertTrue((np.sort(top, axis=2) == np.sort(rows["topk_ids"], axis=2)).all())
        # The prose lines are plain text: their bytes are the tokens (byte tokenizer).
        prose = (EXAMPLES / "datasets" / "prose.txt").read_text().splitlines()
        self.assertEqual(self.samples[12][1]["token_ids"].tolist(), list(prose[0].encode()))
        # A conversation starts with Qwen3's <|im_start|> (257) as one token.
        self.assertEqual(int(self.samples[18][1]["token_ids"][0]), 257)
        self.assertEqual(self.index["options"]["chat_template"], "qwen3")
        self.assertEqual(self.index["shape"]["logits_dtype"], "f32")

    def test_progress_lines_when_stderr_is_not_a_terminal(self):
        self.assertIn("progress: 23/23 samples (100%)", self.result.stderr)
        self.assertIn("tokens/s", self.result.stderr)

    def test_stats_reads_the_trace(self):
        r = run("stats", self.dir, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual(s["tokens"], sum(q["num_tokens"] for q, _ in self.samples.values()))
        self.assertEqual(s["num_samples"], 23)
        self.assertEqual(sorted(d["label"] for d in s["datasets"]), ["code", "dialogue", "maths", "prose"])
        losses = {x["id"]: x["loss"] for x in s["samples"]}
        for i, (q, _) in self.samples.items():
            self.assertEqual(losses[i], q["loss"])
        counts = np.zeros((4, 16), dtype=np.int64)
        for _, rows in self.samples.values():
            for l in range(4):
                counts[l] += np.bincount(rows["topk_ids"][l].ravel(), minlength=16)
        self.assertEqual([[e["count"] for e in l["experts"]] for l in s["layers"]], counts.tolist())

    def test_seed_json_export(self):
        out = Path(self.tmp.name) / "seed.json"
        r = run("export", self.dir, "--format", "seed-json", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            seed = json.load(f)
        self.assertEqual(len(seed["samples"]), 23)
        for i, sample in enumerate(seed["samples"]):
            q, rows = self.samples[i]
            self.assertEqual(sample["num_tokens"], q["num_tokens"])
            self.assertEqual(sample["loss"], q["loss"])
            logits = np.array(sample["layers"][0]["router_logits_sample"], dtype=np.float32)
            np.testing.assert_array_equal(logits, rows["router_logits"][0][:len(logits)])

    def test_against_another_model_on_the_same_tokens(self):
        other = Path(self.tmp.name) / "other"
        trace("builtin:tiny-moe", other)
        _, theirs = shards(other)
        out = Path(self.tmp.name) / "stats"
        r = run("stats", self.dir, "--against", other, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("against", r.stdout)
        a = json.loads((out / "stats.json").read_text())["against"]
        # Reference: the same (sample, position) pairs, per layer the Jaccard of the sets and the
        # JSD of the expert counts, with NumPy.
        jac, flips, ca, cb = [[] for _ in range(4)], np.zeros(4), np.zeros((4, 16)), np.zeros((4, 16))
        any_flip, steps = 0, 0
        for i, (q, mine) in self.samples.items():
            np.testing.assert_array_equal(mine["token_ids"], theirs[i][1]["token_ids"])
            for p in range(q["num_tokens"]):
                flipped = False
                for l in range(4):
                    x, y = set(mine["topk_ids"][l, p]), set(theirs[i][1]["topk_ids"][l, p])
                    jac[l].append(len(x & y) / len(x | y))
                    flips[l] += x != y
                    flipped |= x != y
                    ca[l, list(x)] += 1
                    cb[l, list(y)] += 1
                any_flip += flipped
                steps += 1
        self.assertEqual(a["steps"], steps)
        self.assertEqual(a["unmatched_inputs"], 0)
        self.assertEqual(a["unmatched_other"], 0)
        self.assertTrue(a["tokens_checked"])
        for l in range(4):
            self.assertAlmostEqual(a["layers"][l]["mean_jaccard"], np.mean(jac[l]), places=12)
            self.assertEqual(a["layers"][l]["flips"], flips[l])
            p, q = ca[l] / ca[l].sum(), cb[l] / cb[l].sum()
            m = (p + q) / 2
            kl = lambda u, v: np.sum(u[u > 0] * np.log2(u[u > 0] / v[u > 0]))
            self.assertAlmostEqual(a["layers"][l]["jsd"], (kl(p, m) + kl(q, m)) / 2, places=12)
        self.assertAlmostEqual(a["any_layer_flip_fraction"], any_flip / steps, places=12)
        self.assertAlmostEqual(a["flip_rate"], flips.sum() / (4 * steps), places=12)
        self.assertTrue((out / "against_layers.csv").exists())


class TraceRejectsBadInput(unittest.TestCase):
    def refused(self, args, fragment, code=2, env=None):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            r = run("trace", *args, "--out", out, env=env)
            self.assertEqual(r.returncode, code, r.stderr)
            self.assertIn(fragment, r.stderr)
            self.assertFalse(out.exists(), "nothing may be written")

    def test_refused_before_the_model_loads(self):
        # builtin:no-such-model would fail to load: each error below is found before that.
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "bad.jsonl"
            bad.write_text('{"text": "fine"}\n{"body": "no text"}\n')
            model = ["--model", "builtin:no-such-model"]
            self.refused(model + ["--dataset", bad], "bad.jsonl:2: record has neither 'text' nor 'messages'")
            good = ["--dataset", EXAMPLES / "datasets" / "prose.txt"]
            self.refused(model + good + ["--shard", "2/2"], "2/2")
            self.refused(model + good, "RANK", env={"RANK": "x", "WORLD_SIZE": "2"})
            self.refused(model + good + ["--chat-template", "no-such-template"], "no-such-template")
            self.refused(model + good + ["--max-tokens", "1"], "--max-tokens 1")
        self.refused(["--model", "builtin:no-such-model", "--dataset", EXAMPLES / "datasets" / "prose.txt"],
                     "builtin:no-such-model")

    def test_a_directory_of_another_run_is_left_alone(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            trace("builtin:tiny-qwen3-moe", out)
            before = {p.name: p.read_bytes() for p in out.iterdir()}
            r = run("trace", "--model", "builtin:tiny-qwen3-moe", *dataset_args(), "--shard-size", 5, "--max-tokens", 8,
                    "--out", out)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("holds a trace of a different run (options", r.stderr)
            self.assertEqual({p.name: p.read_bytes() for p in out.iterdir()}, before)

    def test_io_errors_exit_3(self):
        r = run("trace", "--model", "builtin:tiny-qwen3-moe", "--dataset", EXAMPLES / "datasets" / "prose.txt",
                "--out", "/proc/moeroute-test/run")
        self.assertEqual(r.returncode, 3, r.stderr)


if __name__ == "__main__":
    MOEROUTE, EXAMPLES = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
