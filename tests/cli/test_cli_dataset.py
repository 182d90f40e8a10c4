#!/usr/bin/env python3
"""CLI tests for `moeroute dataset` on the example dataset (examples/datasets) and on bad input.
Run by ctest as  python test_cli_dataset.py MOEROUTE_BINARY EXAMPLES_DIR  [unittest args]"""
import json
import sys
import tempfile
import unittest
from pathlib import Path

import xxhash

from cli_util import run as run_binary

MOEROUTE = EXAMPLES = None


def run(*args):
    return run_binary(MOEROUTE, *args)


class DatasetReport(unittest.TestCase):
    def test_the_example_dataset(self):
        d = EXAMPLES / "datasets"
        files = [d / "code.jsonl", d / "maths.csv", d / "prose.txt", d / "dialogue.jsonl"]
        r = run("dataset", *files, "--json", "--show", "30", "--template", "chatml")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["labels"], ["code", "maths", "prose", "dialogue"])
        self.assertEqual([f["format"] for f in rep["files"]], ["jsonl", "csv", "text", "jsonl"])
        self.assertEqual(rep["num_samples"], len(rep["samples"]))
        for f, path in zip(rep["files"], files):
            self.assertEqual(f["xxh64"], xxhash.xxh64(path.read_bytes()).hexdigest())
        self.assertEqual(rep["files"][0]["num_samples"], len((d / "code.jsonl").read_text().splitlines()))
        dialogue = [s for s in rep["samples"] if s["label"] == "dialogue"]
        self.assertTrue(all(s["conversation"] for s in dialogue))
        self.assertTrue(dialogue[0]["text"].startswith("<|im_start|>user\n"))
        self.assertEqual(rep["warnings"], [])

    def test_labels_and_max_samples(self):
        r = run("dataset", f"numbers={EXAMPLES / 'datasets' / 'maths.csv'}", "--max-samples", "2", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual((rep["labels"], rep["num_samples"]), (["numbers"], 2))

    def test_bad_input_exits_2_with_the_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "bad.jsonl"
            bad.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
            r = run("dataset", bad)
            self.assertEqual(r.returncode, 2)
            self.assertIn("bad.jsonl:2:14: invalid UTF-8 (byte 0xe9)", r.stderr)
            bad.write_text('{"text": "ok"}\n{"body": "x"}\n')
            r = run("dataset", bad)
            self.assertEqual(r.returncode, 2)
            self.assertIn("bad.jsonl:2: record has neither 'text' nor 'messages' (its fields: body", r.stderr)
            r = run("dataset", bad, "--text-field", "body")
            self.assertEqual(r.returncode, 2)
            self.assertIn("bad.jsonl:1: record has neither 'body'", r.stderr)
            blank = Path(tmp) / "blank.txt"
            blank.write_text("a\n\nb\n")
            r = run("dataset", blank)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("warning: ", r.stdout)
            self.assertIn("skipped 1 blank lines (2)", r.stdout)


if __name__ == "__main__":
    MOEROUTE, EXAMPLES = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
