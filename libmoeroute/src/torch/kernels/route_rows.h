// Top-k routing of few rows of float32 router logits on raw pointers, for the CPU path of the
// native MoE block (layers/cpu_decode.h): the softmax → top-k → renormalise rule (Qwen-MoE) and
// top-k → softmax (gpt-oss), as recorder/routing_ops.cpp computes them with torch ops.
// at::topk leaves the order of equal values to its partial sort, so where equal values decide
// the chosen set or its order, or a value is NaN, these refuse and the caller routes with
// at::topk: the ids are then what the torch rule picks, always.
// No LibTorch here.
#pragma once

#include <cstdint>

namespace moeroute::detail {

enum class RowRouting {
  SoftmaxTopK,  ///< softmax over all E in float32 → top-k of the probabilities (→ / their sum)
  TopKSoftmax,  ///< top-k of the logits → softmax over the k values
};

/// Rows logits[N, E] → ids [N, k] (best first) and weights [N, k] (float32). `renormalize`
/// divides SoftmaxTopK's k probabilities by their sum. Returns false, outputs unspecified, where
/// any row has a NaN or two equal values among its k + 1 largest (of what is ranked: the
/// probabilities, or the logits). 1 ≤ k ≤ E.
bool route_rows(const float* logits, int64_t N, int64_t E, int64_t k, RowRouting rule, bool renormalize,
                int64_t* ids, float* weights);

}  // namespace moeroute::detail
