// Per-token router entropies for the statistics accumulator. The code uses only IEEE +, −, ×, ÷
// and exact conversions (own exp and log; compiled without FMA contraction), so a token's
// entropy is the same bits on every machine, whichever vector width the compiler picks —
// which is what lets statistics computed on different machines merge exactly.
#pragma once

namespace moeroute::detail {

/// Entropy in bits of softmax(x) over n logits. NaN when a logit is NaN or +inf.
double softmax_entropy_bits(const float* x, int n);

/// Entropy in bits of p / Σp over n probabilities. NaN when a value is negative or not finite,
/// or all are 0.
double distribution_entropy_bits(const float* p, int n);

/// exp(x) for float x ≤ 0 (results below FLT_MIN are clamped to ≈ FLT_MIN; ≈ 1 ulp), deterministic.
float det_expf(float x);
/// Natural log for positive finite x (≈ 1 ulp), deterministic.
float det_logf(float x);
/// Natural log for positive finite double x (≈ 1 ulp), deterministic.
double det_log(double x);

}  // namespace moeroute::detail
