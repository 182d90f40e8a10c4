#!/usr/bin/env python3
"""Issue 9's list of bad inputs, one test each: every one gets a specific message and exit code 2
(3 for the filesystem), before the model loads where it can be, and leaves nothing behind. Also
what compare saves equals what it analysed. Run by ctest as
    python test_cli_bad_input.py MOEROUTE_BINARY EXAMPLES_DIR [unittest args]
"""
import json
import os
import stat
import sys
import tempfile
import time
import unittest
from pathlib import Path

from cli_util import run as run_binary
from cli_util import write_input as write_input_in
from reference import load

MOEROUTE = EXAMPLES = None


def run(*args, env=None):
    return run_binary(MOEROUTE, *args, env=env)


def write_input(tmp, **fields):
    return write_input_in(EXAMPLES, tmp, **{"max_new_tokens": 4, **fields})


class Case(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)

    def refused(self, r, code, fragment):
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertIn(fragment, r.stderr)
        self.assertNotIn("internal error", r.stderr)


class OutputTargets(Case):
    """Non-regular targets are refused, never replaced; a target that cannot be used is refused
    before the model runs, always with exit 3."""

    def test_fifo_is_never_replaced(self):
        fifo = self.dir / "trace.safetensors"
        os.mkfifo(fifo)
        r = run("record", "--prompt", "hi", "--max-new-tokens", "2", "-o", fifo)
        self.refused(r, 3, "is not a regular file")
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        # Inside an output directory too: nothing of the set is moved.
        out = self.dir / "out"
        out.mkdir()
        os.mkfifo(out / "meta.json")
        r = run("diff", EXAMPLES / "synthetic" / "base.safetensors", EXAMPLES / "synthetic" / "var.safetensors",
                "--out", out, "--no-plots")
        self.refused(r, 3, "meta.json: exists and is not a regular file")
        self.assertTrue(stat.S_ISFIFO(os.lstat(out / "meta.json").st_mode))
        self.assertEqual(sorted(p.name for p in out.iterdir()), ["meta.json"])

    @unittest.skipUnless(os.geteuid() == 0 and os.path.exists("/dev/full"), "needs root and /dev/full")
    def test_dev_full_as_root(self):
        before = os.lstat("/dev/full")
        r = run("record", "--prompt", "hi", "--max-new-tokens", "2", "-o", "/dev/full")
        self.refused(r, 3, "/dev/full: exists and is not a regular file")
        after = os.lstat("/dev/full")
        self.assertTrue(stat.S_ISCHR(after.st_mode))
        self.assertEqual(before.st_rdev, after.st_rdev)

    def test_unusable_targets_refused_before_the_run_with_one_exit_code(self):
        a_file = self.dir / "file"
        a_file.write_text("x")
        # A huge generation that would take minutes: refused at once, so it never started.
        slow = ["--max-new-tokens", "100000"]
        cases = [
            (["record", "--prompt", "hi", *slow, "-o", self.dir], "is not a regular file (a directory)"),
            (["record", "--prompt", "hi", *slow, "-o", a_file / "t.safetensors"], "is not a directory"),
            (["compare", write_input(self.dir), *slow, "--out", a_file], "exists and is not a directory"),
            (["compare", write_input(self.dir), *slow, "--out", a_file / "sub"], "cannot create"),
        ]
        for args, fragment in cases:
            with self.subTest(args=args[:2]):
                t0 = time.monotonic()
                r = run(*args)
                self.refused(r, 3, fragment)
                self.assertLess(time.monotonic() - t0, 30, "refused before the model ran")
        self.assertEqual(a_file.read_text(), "x")


class TemplateDate(Case):
    """gpt-oss's harmony template writes a date: settable (--date / date), recorded."""

    def test_date_flag_field_and_record(self):
        out = self.dir / "out"
        r = run("compare", write_input(self.dir, model_id="builtin:tiny-gpt-oss", date="2025-08-05"), "--out", out,
                "--no-plots")
        self.assertEqual(r.returncode, 0, r.stderr)
        g = json.loads((out / "generations.json").read_text())
        self.assertIn("Current date: 2025-08-05\n", g["base"]["prompt_text"])
        self.assertEqual(json.loads((out / "meta.json").read_text())["template_date"], "2025-08-05")
        self.assertEqual(load(out / "var.safetensors")[1]["extra"]["template_date"], "2025-08-05")
        trace = self.dir / "t.safetensors"
        r = run("record", "--model", "builtin:tiny-gpt-oss", "--prompt", "hi", "--max-new-tokens", "1", "--date",
                "2024-02-29", "-o", trace)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(load(trace)[1]["extra"]["template_date"], "2024-02-29")
        # The default is today's local date, and it is recorded.
        r = run("record", "--model", "builtin:tiny-gpt-oss", "--prompt", "hi", "--max-new-tokens", "1", "-o", trace)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(load(trace)[1]["extra"]["template_date"], time.strftime("%Y-%m-%d"))

    def test_bad_date(self):
        for bad in ("2025-02-29", "2025-13-01", "yesterday", "2025-8-5"):
            with self.subTest(date=bad):
                r = run("record", "--model", "builtin:tiny-gpt-oss", "--prompt", "hi", "--date", bad, "-o",
                        self.dir / "t.safetensors")
                self.refused(r, 2, "option --date: field 'date': expected a calendar date written YYYY-MM-DD")


class DiffOfDifferentModels(Case):
    def test_refused_unless_forced(self):
        a, b = self.dir / "a.safetensors", self.dir / "b.safetensors"
        for path, model in ((a, "builtin:tiny-moe"), (b, "builtin:tiny-qwen3-moe")):
            r = run("record", "--model", model, "--prompt", "hello", "--max-new-tokens", "3", "-o", path)
            self.assertEqual(r.returncode, 0, r.stderr)
        out = self.dir / "out"
        r = run("diff", a, b, "--out", out, "--no-plots")
        self.refused(r, 2, "was recorded from model 'builtin:tiny-moe' but")
        self.assertIn("--force", r.stderr)
        self.assertFalse(out.exists())
        r = run("diff", a, b, "--out", out, "--no-plots", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)


class CompareSavesWhatItAnalyses(Case):
    """--logits-dtype bf16: the analysis reads the bf16 logits the traces hold, so `diff` of the
    saved traces reproduces every number, and the dtype is recorded."""

    def test_diff_of_saved_traces_equals_compare(self):
        out, again = self.dir / "out", self.dir / "again"
        r = run("compare", write_input(self.dir, max_new_tokens=12), "--out", out, "--no-plots", "--logits-dtype",
                "bf16")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads((out / "meta.json").read_text())["logits_dtype"], "bf16")
        r = run("diff", out / "base.safetensors", out / "var.safetensors", "--out", again, "--no-plots")
        self.assertEqual(r.returncode, 0, r.stderr)
        for name in ("jsd.csv", "jsd_layer_mean.csv", "expert_shifts_per_layer_topN.csv", "topk_agreement_layers.csv",
                     "topk_jaccard.csv"):
            self.assertEqual((out / name).read_text(), (again / name).read_text(), name)


class ContextLength(Case):
    """ModelInfo::max_positions (4096 for the native demo models): a warning, or --strict refuses."""

    def test_warning_and_strict(self):
        prompt = self.dir / "long.txt"
        prompt.write_text("a" * 4100)  # byte-level tokenizer: one token per byte
        args = ["record", "--model", "builtin:tiny-qwen3-moe", "--input", prompt, "--max-new-tokens", "1"]
        r = run(*args, "-o", self.dir / "t.safetensors")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: the prompt + max_new_tokens needs up to", r.stderr)
        self.assertIn("context of 4096 (max_positions)", r.stderr)
        r = run(*args, "--strict", "-o", self.dir / "s.safetensors")
        self.refused(r, 2, "refused (strict_context / --strict)")
        self.assertFalse((self.dir / "s.safetensors").exists())
        r = run("compare", write_input(self.dir, model_id="builtin:tiny-qwen3-moe", max_new_tokens=5000,
                                       strict_context=True), "--out", self.dir / "out")
        self.refused(r, 2, "the base prompt + max_new_tokens needs up to")
        self.assertFalse((self.dir / "out").exists())


class HugeInputs(Case):
    def test_prompt_over_the_limit_refused_before_loading(self):
        big = self.dir / "big.txt"
        with open(big, "wb") as f:
            f.truncate(17 << 20)
        r = run("record", "--input", big, "-o", self.dir / "t.safetensors")
        self.refused(r, 2, "big.txt")
        self.assertIn("16777216", r.stderr)

    def test_generation_cap_and_progress(self):
        r = run("record", "--prompt", "x", "--max-new-tokens", "100000000", "-o", self.dir / "t.safetensors")
        self.refused(r, 2, "option --max-new-tokens: field 'max_new_tokens': expected an integer in [1, 1000000]")
        # A long generation prints where it stands: every 5 s by default; here at every report the
        # library makes (at most once a second), so the test holds on any machine where 4000 tokens
        # take more than a second (≈ 7 s at one thread on a 2-core EPYC: 7× margin). 4000 + the
        # prompt stays inside the model's context of 4096, so no context warning either.
        r = run("record", "--model", "builtin:tiny-qwen3-moe", "--prompt", "x", "--max-new-tokens", "4000",
                "--no-logits", "-o", self.dir / "t.safetensors", "--threads", "1",
                env={**os.environ, "MOEROUTE_PROGRESS_SECONDS": "0"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"moeroute: generating: \d+ of at most 4000 tokens, [\d.]+ tokens/s")


class OneSeedType(Case):
    def test_record_and_compare_take_the_same_seeds(self):
        limit = "18446744073709551615"
        for value, ok in ((limit, True), ("18446744073709551616", False), ("-1", False), ("1.5", False)):
            with self.subTest(seed=value):
                r = run("record", "--prompt", "x", "--max-new-tokens", "1", "--temperature", "1", "--seed", value,
                        "-o", self.dir / "t.safetensors")
                c = run("compare", write_input(self.dir, max_new_tokens=1), "--seed", value, "--no-plots", "--out",
                        self.dir / f"out{len(value)}")
                for res in (r, c):
                    if ok:
                        self.assertEqual(res.returncode, 0, res.stderr)
                    else:
                        self.refused(res, 2, f"field 'seed': expected an integer in [0, {limit}]")
        self.assertEqual(load(self.dir / "t.safetensors")[1]["extra"]["seed"], limit)


class RangeErrors(Case):
    def test_messages_show_numbers_as_written(self):
        syn = EXAMPLES / "synthetic"
        cases = [
            (["diff", syn / "base.safetensors", syn / "var.safetensors", "--out", self.dir / "o", "--topn", "-3"],
             "expected a number > 0, got -3"),
            (["diff", syn / "base.safetensors", syn / "var.safetensors", "--out", self.dir / "o", "--vmax", "nan"],
             "--vmax"),
            (["diff", syn / "base.safetensors", syn / "var.safetensors", "--out", self.dir / "o", "--vmax", "-1"],
             "expected a positive finite number"),
            (["record", "--prompt", "x", "--temperature", "1e300", "-o", self.dir / "t"],
             "expected a number in [0, 100], got 1e+300"),
            (["kde", "pvalues", "--help"], ""),
        ]
        for args, fragment in cases[:-1]:
            with self.subTest(args=args[-2:]):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(fragment, r.stderr)
                self.assertNotRegex(r.stderr, r"\d{40}", "no 300-digit numbers")
                self.assertNotIn("0.000000 to", r.stderr)


class GateWeightErrors(Case):
    def test_message_names_the_file(self):
        import numpy as np
        from safetensors.numpy import save_file
        from safetensors import safe_open
        src = EXAMPLES / "synthetic" / "var.safetensors"
        arrays, _ = load(src)
        with safe_open(str(src), framework="numpy") as f:
            metadata = f.metadata()
        arrays["gate_weights"] = np.zeros_like(arrays["gate_weights"])
        bad = self.dir / "zero_weights.safetensors"
        save_file(arrays, str(bad), metadata=metadata)
        r = run("diff", EXAMPLES / "synthetic" / "base.safetensors", bad, "--dist", "topk", "--out", self.dir / "o",
                "--no-plots")
        self.refused(r, 2, f"{bad}: gate weights of layer")
        self.assertIn("cannot renormalise", r.stderr)


class TemplatesThatDropTheSystemPrompt(Case):
    def test_compare_and_record_refuse(self):
        tpl = self.dir / "no_system.txt"
        tpl.write_text("User: {user}\nAssistant:")
        r = run("compare", write_input(self.dir, chat_template=str(tpl)), "--out", self.dir / "out")
        self.refused(r, 2, "has no {system} placeholder, so prompt_base and prompt_var would render the same prompt")
        self.assertFalse((self.dir / "out").exists())
        r = run("record", "--prompt", "hi", "--system", "be terse", "--template", tpl, "-o", self.dir / "t")
        self.refused(r, 2, "has no {system} placeholder: the system prompt would be dropped")


class HalfPrecisionExport(Case):
    def test_dtype_an_export_cannot_run_in(self):
        export = EXAMPLES.parent / "tests" / "data" / "torchscript" / "qwen3_moe_tiny.pt"
        r = run("record", "--model", export, "--dtype", "f16", "--prompt", "hi", "-o", self.dir / "t.safetensors")
        self.refused(r, 2, "the export does not run in")
        self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    MOEROUTE, EXAMPLES = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
