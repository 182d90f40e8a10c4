// Routed experts: y = Σ_k weight_k · down_e(act(gate_up_e(x))) over each token's chosen experts.
// Three implementations, all exact (they differ only in float summation order):
//  - loop:    per active expert, gather its tokens, two matmuls, outputs back in pair order (the
//             CPU default; the host reads the expert ids, free on the CPU);
//  - gather:  gather each (token, expert) pair's weight matrices and batch-multiply; no host
//             sync, weight traffic ∝ pairs — the GPU default when pairs ≤ experts (decode);
//  - grouped: sort pairs by expert into a padded [experts, capacity, hidden] block and
//             batch-multiply all experts at once; one host sync (the capacity) per layer — the
//             GPU default for prefill.
#pragma once

#include <functional>
#include <string>

#include <torch/torch.h>

#include "moeroute/causal_lm.h"

namespace moeroute::detail {

/// One MoE layer's experts, weights in nn.Linear layout (out × in).
struct ExpertWeights {
  at::Tensor gate_up;       ///< [E, 2I, H]
  at::Tensor gate_up_bias;  ///< [E, 2I] or undefined
  at::Tensor down;          ///< [E, H, I]
  at::Tensor down_bias;     ///< [E, H] or undefined
};

/// [P, 2I] gate_up outputs → [P, I] activations (family-specific: SwiGLU, clamped SwiGLU, …).
using ExpertActivation = std::function<at::Tensor(const at::Tensor&)>;

/// Qwen3-MoE's SwiGLU on [gate | up] halves: silu(gate) · up.
ExpertActivation swiglu_activation();

/// gpt-oss' clamped SwiGLU on interleaved columns (2j gate, 2j+1 up; GptOssExperts._apply_gate):
/// gate ≤ limit, |up| ≤ limit, (up + 1) · gate · σ(alpha · gate).
ExpertActivation clamped_swiglu_activation(double limit, double alpha);

/// x [N, H], ids [N, k] (int64), weights [N, k] (x's dtype) → [N, H].
at::Tensor run_experts(const ExpertWeights& w, const at::Tensor& x, const at::Tensor& ids, const at::Tensor& weights,
                       const ExpertActivation& act, ExpertsImpl impl);

}  // namespace moeroute::detail
