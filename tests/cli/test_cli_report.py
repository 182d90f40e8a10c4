#!/usr/bin/env python3
"""CLI tests for `moeroute report`, `simulate` and `gif`: the numbers a report embeds, decoded as
docs/report.md says, against the independent reference (SciPy JSD, NumPy masses and expert
counts over the trace arrays read with the `safetensors` package); and every refusal (exit 2, a
message naming the problem, no output left). Run by ctest (tests/cli/CMakeLists.txt) as
    python test_cli_report.py MOEROUTE_BINARY EXAMPLES_DIR [unittest args]
"""
import base64
import json
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from cli_util import run as run_binary
from fp_tolerance import F32_UNIT, fp64_tolerance, jsd_tolerance
from reference import load, reference

MOEROUTE = EXAMPLES = None


def run(*args):
    return run_binary(MOEROUTE, *args)


def page_data(html_path):
    html = Path(html_path).read_text(encoding="utf-8")
    start = html.index('id="moeroute-data">') + len('id="moeroute-data">')
    return json.loads(html[start:html.index("</script>", start)])


def decode(a):
    raw = base64.b64decode(a["b64"])
    if a["dtype"] == "q16":
        q = np.frombuffer(raw, dtype="<u2").astype(np.float64)
        v = a["lo"] + q * (a["hi"] - a["lo"]) / 65534
        v[q == 65535] = np.nan
        return v.reshape(a["shape"])
    dtype = {"u8": "u1", "u16": "<u2", "u32": "<u4", "i32": "<i4", "f32": "<f4"}[a["dtype"]]
    return np.frombuffer(raw, dtype=dtype).reshape(a["shape"])


def write_trace(path, arrays, meta):
    save_file(arrays, str(path), metadata={"moeroute.format": "moeroute.trace", "moeroute.format_version": "1",
                                           "moeroute.trace": json.dumps(meta)})


class ReportMatchesReference(unittest.TestCase):
    def test_two_traces(self):
        base, var = EXAMPLES / "base.safetensors", EXAMPLES / "var.safetensors"
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.html"
            r = run("report", base, var, "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            data = page_data(out)
        (b, bm), (v, vm) = load(base), load(var)
        jsd, shifts, steps, layers = reference(base, var, "full", bm["num_experts"])
        page = data["sections"][0]
        self.assertEqual(page["kind"], "comparison")
        self.assertEqual(page["steps"], steps)
        self.assertEqual([l["name"] for l in data["model"]["layers"]], layers)
        ours = decode(page["divergence"])
        # q16: within (hi − lo) / 131068 of moeroute's doubles, which agree with SciPy within
        # jsd_tolerance; the quantisation's own arithmetic adds a few roundings of values ≤ 1.
        E = bm["num_experts"]
        bound = (page["divergence"]["hi"] - page["divergence"]["lo"]) / 131068 + jsd_tolerance(E) + fp64_tolerance(8)
        self.assertLessEqual(np.abs(ours - jsd).max(), bound)
        np.testing.assert_allclose(page["layer_mean"], jsd.mean(axis=1), rtol=0,
                                   atol=jsd_tolerance(E) + fp64_tolerance(steps + 1))
        mb, mv = np.zeros((len(layers), E)), np.zeros((len(layers), E))
        for name, e, bmass, vmass, _, _ in shifts:
            mb[layers.index(name), e], mv[layers.index(name), e] = bmass, vmass
        # f32 of sums of ≤ 40 probabilities (≤ 40): relative rounding u32, on top of the double
        # sums' own disagreement (≤ 3·E operations per probability, 40 terms).
        mass_tol = fp64_tolerance(3 * E + 40, 40)
        np.testing.assert_allclose(decode(page["base_mass"]), mb, rtol=F32_UNIT, atol=mass_tol)
        np.testing.assert_allclose(decode(page["var_mass"]), mv, rtol=F32_UNIT, atol=mass_tol)
        # Utilisation: counts of each expert among the top-k slots of the aligned rows.
        for run_arrays, meta, key in ((b, bm, "base"), (v, vm, "var")):
            start = meta["prompt_length"] - 1
            ids = run_arrays["topk_ids"][:, start:start + steps, :]
            want = np.stack([np.bincount(ids[l].ravel(), minlength=E) for l in range(len(layers))])
            u = page["utilisation"][key]
            self.assertEqual(u["row_count"], steps)
            np.testing.assert_array_equal(decode(u["counts"]), want)
        # The runs' arrays: ids exact, gate weights within half a quantisation step.
        run0 = data["runs"][page["base_run"]]
        np.testing.assert_array_equal(decode(run0["topk_ids"]), b["topk_ids"])
        np.testing.assert_array_equal(decode(run0["token_ids"]), b["token_ids"])
        g = run0["gate_weights"]
        # Half a step, plus the double arithmetic of encoding and decoding weights ≤ 1.
        self.assertLessEqual(np.abs(decode(g) - b["gate_weights"]).max(),
                             (g["hi"] - g["lo"]) / 131068 + fp64_tolerance(8))
        self.assertEqual(decode(run0["segments"]).tolist(), [0] * bm["prompt_length"] + [1] * (bm["num_positions"] - bm["prompt_length"]))


class ReportRejectsBadInput(unittest.TestCase):
    def refused(self, args, fragment, out):
        r = run(*args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(fragment, r.stderr)
        self.assertFalse(Path(out).exists(), "no output may be left behind")

    def test_different_models(self):
        with tempfile.TemporaryDirectory() as tmp:
            arrays, meta = load(EXAMPLES / "var.safetensors")
            meta["model_id"] = "another-model"
            other = Path(tmp) / "other.safetensors"
            write_trace(other, arrays, meta)
            out = Path(tmp) / "r.html"
            self.refused(("report", EXAMPLES / "base.safetensors", EXAMPLES / "var.safetensors", other, "-o", out),
                         "is from model 'another-model'", out)

    def test_empty_trace(self):
        with tempfile.TemporaryDirectory() as tmp:
            arrays, meta = load(EXAMPLES / "base.safetensors")
            empty = {"topk_ids": arrays["topk_ids"][:, :0, :].copy()}
            meta.update(num_positions=0, prompt_length=0, fields=["topk_ids"])
            path = Path(tmp) / "empty.safetensors"
            write_trace(path, empty, meta)
            out = Path(tmp) / "r.html"
            self.refused(("report", path, "-o", out), "has no rows", out)

    def test_compare_directory_missing_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp) / "cmp"
            out = Path(tmp) / "r.html"
            r = run("diff", EXAMPLES / "base.safetensors", EXAMPLES / "var.safetensors", "--out", d, "--no-plots")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.refused(("report", d, "-o", out), "no base.safetensors", out)
            shutil.copy(EXAMPLES / "base.safetensors", d / "base.safetensors")
            self.refused(("report", d, "-o", out), "no var.safetensors", out)
            shutil.copy(EXAMPLES / "var.safetensors", d / "var.safetensors")
            (d / "meta.json").unlink()
            self.refused(("report", d, "-o", out), "no meta.json", out)
            self.refused(("report", Path(tmp) / "nowhere", "-o", out), "no such file or directory", out)

    def test_simulate_and_gif(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "s.gif"
            self.refused(("simulate", "--gif", out, "--experts", "2", "--micro", "2", "--topk", "5"), "top_k", out)
            self.refused(("simulate", "--gif", out, "--fps", "0"), "fps", out)
            self.refused(("gif", EXAMPLES / "base.safetensors", "--layer", "99", "-o", out), "model.layers.11.mlp.gate", out)
            r = run("simulate", "--gif", out, "--frames", "3", "--width", "320", "--height", "240")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(out.read_bytes()[:6], b"GIF89a")
            self.refused(("simulate",), "nothing to write", Path(tmp) / "none")
            # A bad replay trace stops the job before the GIF is written.
            not_a_trace = Path(tmp) / "not_a_trace.safetensors"
            not_a_trace.write_bytes(b"\x08" + b"\x00" * 7 + b"{}      ")
            gif2 = Path(tmp) / "t.gif"
            self.refused(("simulate", "--gif", gif2, "--frames", "2", "--html", Path(tmp) / "s.html", "--trace", not_a_trace),
                         "not_a_trace.safetensors", gif2)


if __name__ == "__main__":
    MOEROUTE, EXAMPLES = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
