#!/usr/bin/env python3
"""CLI tests for `moeroute kde fit` and `moeroute kde pvalues` (docs/kde.md), checked against
SciPy: the model file is read with the `safetensors` package, each layer's KDE rebuilt with
scipy.stats.gaussian_kde(data, bw_method=factor), and the p-values compared with its
integrate_box_1d(x, inf). Run by ctest (tests/cli/CMakeLists.txt) as
    python test_cli_kde.py MOEROUTE_BINARY EXAMPLES_DIR  [unittest args]
"""
import csv
import json
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
from scipy import special, stats

from cli_util import assert_refused
from cli_util import run as run_binary
from fp_tolerance import F32_UNIT, F64_UNIT, fp64_tolerance
from reference import load

MOEROUTE = EXAMPLES = None


def run(*args):
    return run_binary(MOEROUTE, *args)


def load_model(path):
    """The model file as docs/kde.md shows it: metadata JSON and tensors."""
    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()["moeroute.kde"])
    return meta, load_file(str(path))


def scipy_kde(meta, tensors, variant, layer):
    v = meta["variants"][variant]
    data, off = tensors[v["data"]], tensors[v["data"] + ".offsets"]
    factor = tensors[v["name"] + ".factor"][layer]
    return stats.gaussian_kde(data[off[layer]:off[layer + 1]].astype(np.float64), bw_method=factor)


def upper_tail(kde, x):
    """gaussian_kde.integrate_box_1d(x, inf) for many x at once: the same sum, as Φ(−u)."""
    h = np.sqrt(kde.covariance[0, 0])
    return special.ndtr((kde.dataset[0][None, :] - x[:, None]) / h) @ kde.weights


class KdeMatchesScipy(unittest.TestCase):
    def test_fit_and_pvalues(self):
        base, var = EXAMPLES / "base.safetensors", EXAMPLES / "var.safetensors"
        with tempfile.TemporaryDirectory() as tmp:
            model, out = Path(tmp) / "m.kde.safetensors", Path(tmp) / "out"
            r = run("kde", "fit", base, "-o", model, "--kernel", "gaussian,tophat", "--trim", "0,2")
            self.assertEqual(r.returncode, 0, r.stderr)
            meta, t = load_model(model)
            self.assertEqual([v["name"] for v in meta["variants"]],
                             ["gaussian", "gaussian_trim2", "tophat", "tophat_trim2"])
            arrays, tmeta = load(base)
            logits = arrays["router_logits"]  # [L, T, E]
            n_layers, rows, experts = logits.shape
            for layer in range(n_layers):
                kde = scipy_kde(meta, t, 0, layer)
                self.assertTrue(np.array_equal(kde.dataset[0], np.sort(logits[layer].ravel()).astype(np.float64)))
                # Scott's factor n^(-1/5) is a pow (a few roundings); the covariance a two-pass sum
                # over the n samples on each side (relative to the spread: the samples are centred).
                n = kde.dataset.shape[1]
                self.assertAlmostEqual(t["gaussian.factor"][layer] / kde.factor, 1, delta=fp64_tolerance(4))
                self.assertAlmostEqual(t["gaussian.bandwidth"][layer] ** 2 / kde.covariance[0, 0], 1,
                                       delta=fp64_tolerance(2 * n + 4))
                trimmed = np.sort(np.sort(logits[layer], axis=1)[:, :experts - 2].ravel())
                v1 = meta["variants"][1]
                off = t[v1["data"] + ".offsets"]
                self.assertTrue(np.array_equal(t[v1["data"]][off[layer]:off[layer + 1]], trimmed))
            counts = np.zeros((n_layers, experts), dtype=np.int64)
            for layer in range(n_layers):
                np.add.at(counts[layer], arrays["topk_ids"][layer].ravel(), 1)
            self.assertTrue(np.array_equal(t["choice_counts"], counts))

            # P-values under the plain Gaussian model (exact sums: 1984 × 1920 per layer).
            gauss = Path(tmp) / "g.kde.safetensors"
            self.assertEqual(run("kde", "fit", base, "-o", gauss).returncode, 0)
            meta, t = load_model(gauss)
            r = run("kde", "pvalues", gauss, var, "--out", out, "--method", "exact", "--save-pvalues",
                    "--plots", "none")
            self.assertEqual(r.returncode, 0, r.stderr)
            pv = load_file(str(out / "pvalues.safetensors"))["gaussian"]
            var_logits = load(var)[0]["router_logits"]
            self.assertEqual(pv.shape, var_logits.shape)
            summary = {(row["variant"], row["layer"], row["group"]): row
                       for row in csv.DictReader(open(out / "pvalue_summary.csv"))}
            names = [l["name"] for l in tmeta["layers"]]
            for layer in range(n_layers):
                kde = scipy_kde(meta, t, 0, layer)
                x = var_logits[layer].ravel().astype(np.float64)
                ref = upper_tail(kde, x)
                # float32 p-values: rounded once from double (≤ u32 relative), the double sums on
                # either side within ~1e-13 relative (tests/unit/test_kde.cpp, kRel covers it at 1e-9);
                # SciPy's per-point 1 − Φ adds ≤ 2^-53 absolute per point, weights summing to 1.
                rel = F32_UNIT + 1e-9
                np.testing.assert_allclose(pv[layer].ravel(), ref, rtol=rel, atol=0)
                for i in range(0, x.size, 397):
                    self.assertAlmostEqual(pv[layer].ravel()[i], kde.integrate_box_1d(x[i], np.inf),
                                           delta=rel * ref[i] + 4 * F64_UNIT)
                row = summary[("gaussian", names[layer], "all")]
                p = pv[layer].ravel().astype(np.float64)
                self.assertEqual(int(row["count"]), p.size)
                # Over the same float32 p-values in double: the KS statistic is a max of |i/n − p|
                # (2 roundings), the median a mean of two values (2 roundings), both ≤ 1.
                self.assertAlmostEqual(float(row["ks_statistic"]), stats.kstest(p, "uniform").statistic,
                                       delta=fp64_tolerance(2))
                self.assertAlmostEqual(float(row["median"]), float(np.median(p)), delta=fp64_tolerance(2))
                top1 = np.argmax(var_logits[layer], axis=1)
                rank1 = pv[layer][np.arange(pv.shape[1]), top1].astype(np.float64)
                self.assertAlmostEqual(float(summary[("gaussian", names[layer], "rank1")]["median"]),
                                       float(np.median(rank1)), delta=fp64_tolerance(2))

            out_fast = Path(tmp) / "fast"
            r = run("kde", "pvalues", gauss, var, "--out", out_fast, "--method", "fast", "--save-pvalues",
                    "--plots", "none")
            self.assertEqual(r.returncode, 0, r.stderr)
            info = json.loads((out_fast / "pvalues.json").read_text())
            fast = load_file(str(out_fast / "pvalues.safetensors"))
            exact = load_file(str(out / "pvalues.safetensors"))
            for v in info["variants"]:
                self.assertEqual(set(v["methods"]), {"fast"})
                bound = v["error_bound"] + 2 ** -24  # float32 output
                self.assertLessEqual(np.max(np.abs(fast[v["name"]].astype(np.float64) - exact[v["name"]])), bound)

    def test_plots(self):
        base, var = EXAMPLES / "base.safetensors", EXAMPLES / "var.safetensors"
        with tempfile.TemporaryDirectory() as tmp:
            model, out, svg = Path(tmp) / "m.kde.safetensors", Path(tmp) / "out", Path(tmp) / "svg"
            self.assertEqual(run("kde", "fit", base, "-o", model, "--trim", "0,1").returncode, 0)
            r = run("kde", "pvalues", model, base, var, "--out", out, "--plots", "all")
            self.assertEqual(r.returncode, 0, r.stderr)
            want = ["routing_usage", "logit_distributions", "kde_fit", "kde_curves", "kde_variants",
                    "pvalue_histograms", "pvalue_qq", "pvalue_groups_gaussian", "pvalue_groups_gaussian_trim1"]
            want += [f"experts_model.layers.{l}.mlp.gate" for l in range(12)]
            for stem in want:
                self.assertGreater((out / f"{stem}.png").stat().st_size, 1000, stem)
            info = json.loads((out / "pvalues.json").read_text())
            self.assertEqual([t["rows"] for t in info["traces"]], [60, 62])
            r = run("kde", "pvalues", model, var, "--out", svg, "--plots", "pvalues", "--format", "svg")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sorted(p.name for p in svg.glob("*.svg")),
                             ["pvalue_groups_gaussian.svg", "pvalue_groups_gaussian_trim1.svg",
                              "pvalue_histograms.svg", "pvalue_qq.svg"])


def write_trace(path, logits, top_k=2, with_logits=True, layer_names=None):
    sys.path.insert(0, str(EXAMPLES.parent))
    from make_synthetic_traces import write_safetensors
    n_layers, rows, experts = logits.shape
    ids = np.argsort(-logits, axis=-1, kind="stable")[..., :top_k].astype(np.int32)
    names = layer_names or [f"model.layers.{i}.mlp.gate" for i in range(n_layers)]
    meta = {"model_id": "test", "source": "test", "routing_rule": "", "num_experts": experts, "top_k": top_k,
            "num_positions": rows, "prompt_length": 0,
            "layers": [{"name": n, "index": i} for i, n in enumerate(names)],
            "fields": ["topk_ids"] + (["router_logits"] if with_logits else []), "extra": {}}
    tensors = {"topk_ids": ids}
    if with_logits:
        tensors["router_logits"] = logits.astype(np.float32)
    write_safetensors(path, tensors, {"moeroute.format": "moeroute.trace", "moeroute.format_version": "1",
                                      "moeroute.trace": json.dumps(meta)})


class KdeRejectsBadInput(unittest.TestCase):
    def test_refusals(self):
        rng = np.random.default_rng(5)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            write_trace(tmp / "a.safetensors", rng.normal(size=(2, 30, 6)))
            write_trace(tmp / "other.safetensors", rng.normal(size=(2, 30, 8)))
            write_trace(tmp / "renamed.safetensors", rng.normal(size=(2, 30, 6)), layer_names=["x.0", "x.1"])
            write_trace(tmp / "ids.safetensors", rng.normal(size=(2, 30, 6)), with_logits=False)
            flat = rng.normal(size=(2, 30, 6))
            flat[1] = 0.5
            write_trace(tmp / "flat.safetensors", flat)
            model = tmp / "a.kde.safetensors"
            self.assertEqual(run("kde", "fit", tmp / "a.safetensors", "-o", model).returncode, 0)

            def refused_fit(trace, fragment, *extra):
                out = tmp / "never.kde"
                r = run("kde", "fit", trace, "-o", out, *extra)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(fragment, r.stderr)
                self.assertFalse(out.exists())

            refused_fit(tmp / "ids.safetensors", "has no router logits")
            refused_fit(tmp / "ids.safetensors", "--no-logits")
            refused_fit(tmp / "flat.safetensors", "all 180 values equal 0.5")
            refused_fit(tmp / "a.safetensors", "trim 6 is outside 0 … 5", "--trim", "6")
            refused_fit(tmp / "a.safetensors", "bandwidth 'wide'", "--bandwidth", "wide")
            assert_refused(self, MOEROUTE, ["kde", "pvalues", model, tmp / "other.safetensors"], "8 experts per layer")
            assert_refused(self, MOEROUTE, ["kde", "pvalues", model, tmp / "renamed.safetensors"],
                           "router layer 0 is 'x.0'")
            assert_refused(self, MOEROUTE, ["kde", "pvalues", model, tmp / "ids.safetensors"], "no router logits")
            assert_refused(self, MOEROUTE, ["kde", "pvalues", tmp / "a.safetensors", tmp / "a.safetensors"],
                           "this is a moeroute.trace file, not a KDE model")
            assert_refused(self, MOEROUTE, ["kde", "pvalues", model, tmp / "a.safetensors", "--plots", "stage7"],
                           "plot stage 'stage7'")


if __name__ == "__main__":
    MOEROUTE, EXAMPLES = sys.argv[1], Path(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
