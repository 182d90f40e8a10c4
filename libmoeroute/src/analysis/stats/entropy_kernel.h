// Per-token router entropies for the statistics accumulator. The code uses only IEEE +, −, ×, ÷
// and exact conversions (own exp and log; compiled without FMA contraction) in a fixed order, so
// a token's entropy is the same bits on every machine — with the AVX2 kernels (chosen at run time
// where the CPU has AVX2) or the portable ones, whichever vector width the compiler picks for
// those — which is what lets statistics computed on different machines merge exactly.
#pragma once

namespace moeroute::detail {

/// Entropy in bits of softmax(x) over n logits. NaN when a logit is NaN or +inf.
double softmax_entropy_bits(const float* x, int n);

/// Entropy in bits of p / Σp over n probabilities. NaN when a value is negative or not finite,
/// or all are 0.
double distribution_entropy_bits(const float* p, int n);

/// The portable kernels (what the two above run on CPUs without AVX2); exposed for the tests that
/// check the AVX2 kernels against them bit for bit.
double softmax_entropy_bits_portable(const float* x, int n);
double distribution_entropy_bits_portable(const float* p, int n);
/// "avx2" or "portable": the kernels softmax_entropy_bits and distribution_entropy_bits run.
const char* entropy_kernel_isa();

/// exp(x) for float x ≤ 0 (results below FLT_MIN are clamped to ≈ FLT_MIN; ≈ 1 ulp), deterministic.
float det_expf(float x);
/// Natural log for positive finite x (≈ 1 ulp), deterministic.
float det_logf(float x);
/// Natural log for positive finite double x (≈ 1 ulp), deterministic.
double det_log(double x);

}  // namespace moeroute::detail
