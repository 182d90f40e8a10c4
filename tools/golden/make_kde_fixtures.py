#!/usr/bin/python3
"""Reference values for moeroute's kernel density estimates and p-value statistics
(docs/kde.md), computed by Debian 12's SciPy and NumPy:

    /usr/bin/python3 tools/golden/make_kde_fixtures.py [OUT_DIR]     (default tests/data/kde)

Pinned: python3-scipy 1.10.1-2, python3-numpy 1:1.24.2-1+deb12u1 (Debian bookworm); the script
refuses other versions so that the fixtures always come from the same reference.

Writes OUT_DIR/kde_reference.json:
  cases[]: one 1-D data set each (float32 values, as a trace stores logits) with
    data          the sample (decimal float32 values: they parse back to the same float)
    bandwidth     "scott" | "silverman" | a number (SciPy's scalar bw_method: the factor)
    factor, covariance, neff    scipy.stats.gaussian_kde's attributes
    queries       points: every datum, a grid across the data and far tails on both sides
    pdf           gaussian_kde.evaluate(queries)
    tail_scipy    gaussian_kde.integrate_box_1d(q, inf) per query: SciPy's own upper tail, which
                  computes 1 − Φ(z) and so loses relative precision far in the upper tail
    tail          Σ w_i Φ((x_i − q)/h) with scipy.special.ndtr: the same integral, accurate there
    epanechnikov_pdf/_tail, tophat_pdf/_tail
                  the compact kernels (sklearn's scale convention: support [−h, h]) at the same
                  h, in closed form with NumPy (docs/kde.md, "Kernels")
and OUT_DIR/pvalue_stats_reference.json: a sample of p-values with scipy.stats.kstest's
statistic against U(0, 1), numpy.quantile (linear) at moeroute's QQ levels, the median, the
mean and numpy.histogram counts (20 bins over [0, 1]).
"""
import json
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy import special, stats

PINNED = {"scipy": "1.10.1", "numpy": "1.24.2"}
QQ_LEVELS = [0.001, 0.005] + [round(0.01 * i, 2) for i in range(1, 100)] + [0.995, 0.999]


def f32_list(a):
    """float32 values as the shortest decimals that read back as the same float32."""
    return [float(np.format_float_positional(np.float32(v), unique=True)) for v in a]


def compact(data, h, q, kernel):
    u = (q[:, None] - data[None, :]) / h          # [queries, data]
    inside = np.abs(u) < 1
    if kernel == "epanechnikov":
        pdf = np.where(inside, 0.75 * (1 - u * u), 0.0)
        tail = np.where(u <= -1, 1.0, np.where(u >= 1, 0.0, (1 - u) ** 2 * (2 + u) / 4))
    else:  # tophat
        pdf = np.where(inside, 0.5, 0.0)
        tail = np.where(u <= -1, 1.0, np.where(u >= 1, 0.0, (1 - u) / 2))
    return (pdf.mean(axis=1) / h).tolist(), tail.mean(axis=1).tolist()


def case(name, data32, bandwidth):
    data = np.asarray(data32, dtype=np.float32).astype(np.float64)
    kde = stats.gaussian_kde(data, bw_method=bandwidth)
    h = float(np.sqrt(kde.covariance[0, 0]))
    lo, hi = data.min(), data.max()
    queries = np.concatenate([
        data,
        np.linspace(lo - 4 * h, hi + 4 * h, 41),
        [hi + 9 * h, hi + 15 * h, hi + 40 * h, lo - 9 * h, lo - 40 * h],
    ])
    tail = [float(np.sum(kde.weights * special.ndtr((data - q) / h))) for q in queries]
    out = {
        "name": name,
        "data": f32_list(data32),
        "bandwidth": bandwidth,
        "factor": float(kde.factor),
        "covariance": float(kde.covariance[0, 0]),
        "neff": float(kde.neff),
        "queries": queries.tolist(),
        "pdf": kde.evaluate(queries).tolist(),
        "tail_scipy": [float(kde.integrate_box_1d(q, np.inf)) for q in queries],
        "tail": tail,
    }
    for kernel in ("epanechnikov", "tophat"):
        out[kernel + "_pdf"], out[kernel + "_tail"] = compact(data, h, queries, kernel)
    return out


def main():
    for mod in (scipy, np):
        if mod.__version__ != PINNED[mod.__name__]:
            sys.exit(f"{mod.__name__} {mod.__version__} is not the pinned {PINNED[mod.__name__]}: "
                     "run with Debian bookworm's /usr/bin/python3")
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "tests/data/kde"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261201)
    f32 = np.float32
    cases = [
        case("normal50_scott", rng.normal(0.5, 2.0, 50).astype(f32), "scott"),
        case("bimodal400_silverman",
             np.concatenate([rng.normal(-3, 0.7, 300), rng.normal(2.5, 1.5, 100)]).astype(f32), "silverman"),
        case("student_t300_factor", rng.standard_t(3, 300).astype(f32), 0.3),
        case("pair_scott", np.array([1.0, 2.5], dtype=f32), "scott"),
        case("ties_scott", np.repeat(np.array([0.25, -1.5, 4.0], dtype=f32), [5, 3, 1]), "scott"),
        case("big_offset_silverman", (1000 + rng.normal(0, 0.01, 120)).astype(f32), "silverman"),
    ]
    meta = {"generator": "tools/golden/make_kde_fixtures.py", "scipy": scipy.__version__, "numpy": np.__version__}
    (out / "kde_reference.json").write_text(json.dumps({**meta, "cases": cases}) + "\n")

    p = (rng.uniform(size=257) ** 1.3).astype(f32)
    p[:3] = [0.0, 1.0, 0.5]  # ends and a tie-free midpoint
    p64 = p.astype(np.float64)
    ref = {
        **meta,
        "pvalues": f32_list(p),
        "ks_statistic": float(stats.kstest(p64, "uniform").statistic),
        "qq_levels": QQ_LEVELS,
        "quantiles": np.quantile(p64, QQ_LEVELS).tolist(),
        "median": float(np.median(p64)),
        "mean": float(np.mean(p64)),
        "histogram": np.histogram(p64, bins=20, range=(0.0, 1.0))[0].tolist(),
        "fraction_below": {str(a): float(np.mean(p64 < a)) for a in (0.001, 0.01, 0.05)},
    }
    (out / "pvalue_stats_reference.json").write_text(json.dumps(ref) + "\n")
    print(f"wrote {out}/kde_reference.json ({len(cases)} cases) and pvalue_stats_reference.json")


if __name__ == "__main__":
    main()
