// The small per-layer ops of a native decode step on raw float32 rows, for the CPU path of few
// rows (layers/cpu_decode.h): RMSNorm, rotary embedding, attention of a few query heads over one
// kv head's cache, the experts' weighted combine. Each computes what the torch ops of
// layers/layers.cpp compute, in the same order where the order decides rounding (where the
// weight multiplies, softmax as exp(x − max) · (1/Σ), as ATen's CPU softmax does); reductions
// differ from LibTorch's only in summation order (tests/fp_tolerance.h).
// No LibTorch here: the caller owns the tensors and the threads.
#pragma once

#include <cstdint>

namespace moeroute::detail {

/// transformers' RMSNorm of `rows` rows of n floats in float32: y = weight ⊙ (x · 1/√(mean(x²) +
/// eps)) — x scaled first, then the weight (in float32 both of RmsNormKind's orders are this).
/// The mean is summed in double. y may be x.
void rms_norm_rows(const float* x, int64_t rows, int64_t n, const float* weight, float eps, float* y);

/// One head of D (even) values: y = x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁]
/// (three roundings per value, as the torch ops: two products, one sum). y must not alias x.
void rotary_head(const float* x, const float* cos, const float* sin, int64_t D, float* y);

/// In place over n values: exp(x − max) · (1/Σ), the sum in double. n ≥ 1.
void softmax_row(float* x, int64_t n);

/// Attention of M query rows q[m] (D values each, normed and rotated) over the keys lo..hi
/// (inclusive) of one kv head, keys/values [·, D] row-major from position 0: scores q·k ·
/// scaling, softmax in float32 over those keys — with `sinks` (M logits, or null) gpt-oss' sink
/// joins each row's softmax and is dropped after — then out[m] = Σ p·v. Keys outside lo..hi
/// are the ones the torch path masks (probability exactly 0 there). `scores` is scratch of M ×
/// (hi − lo + 1) floats.
void attend_rows(const float* const* q, int64_t M, const float* keys, const float* values, int64_t D, int64_t lo,
                 int64_t hi, float scaling, const float* sinks, float* scores, float* const* out);

/// The experts' combine for rows n0..n1: out[n] = Σ_j y[n, j] · w[n, j] over the k slots in
/// order (each product rounded, then summed from slot 0, as (y·w).sum(1) does); y [N, k, H],
/// w [N, k], out [N, H].
void combine_rows(const float* y, const float* w, int64_t n0, int64_t n1, int64_t k, int64_t H, float* out);

}  // namespace moeroute::detail
