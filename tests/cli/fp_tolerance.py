"""Tolerances for the Python CLI tests, derived as in tests/fp_tolerance.h: a double computation
through `ops` rounded operations (+, −, ×, ÷, √, exp, log; glibc's and NumPy's within 1 ulp) on
values of magnitude ≤ `scale`, without cancellation, is off the exact value by at most
2 · ops · u · scale (u = 2^-53); two such evaluations — moeroute's and a NumPy/SciPy reference —
differ by at most twice that. Where a subtraction of near-equal terms amplifies error, callers
pass the size of the terms as `scale`."""

F64_UNIT = 2.0 ** -53
F32_UNIT = 2.0 ** -24


def fp64_tolerance(ops, scale=1.0):
    return 4.0 * ops * F64_UNIT * scale


def fp32_tolerance(ops, scale=1.0):
    """The same for float32 arithmetic, or float32 values rounded `ops` times."""
    return 4.0 * ops * F32_UNIT * scale


def jsd_tolerance(experts):
    """Base-2 JSD of two softmax distributions over `experts` experts, ours (H(m) − ½(H(p) + H(q)),
    docs/metrics.md) against SciPy's jensenshannon(p, q, base=2) ** 2: ≤ 6 operations per expert on
    terms up to log2(experts) ≤ 8 bits in size, the entropies subtracting terms of that size. SciPy's
    square root and our square of it add 2 roundings of a value ≤ 1."""
    return fp64_tolerance(6 * experts + 2, 8)


def entropy_tolerance(experts):
    """A per-token entropy over `experts` experts from moeroute's float32 exp/log kernel (within
    2 ulp = 2^-22 relative each), in bits, as derived in tests/unit/test_stats.cpp: a relative
    error ε in each e_i moves H by ≤ ε (ln E + E/e + 1), ln Z's rounding adds ε. Means and standard
    deviations of values each within this stay within it."""
    import math
    eps = 2.0 ** -22
    return eps * (math.log(experts) + experts / math.e + 2) / math.log(2)
