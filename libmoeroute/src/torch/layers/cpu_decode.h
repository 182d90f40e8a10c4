// The native layers' fused CPU float32 path for few rows (decode steps, small batches and
// prompts): the small ops of a layer — RMSNorms, the attention block from q/k/v to the heads'
// outputs (per-head norms, rotary, KV cache write, attention with masks and sinks), routing, the
// experts' combine — as one raw-pointer kernel each (kernels/decode_rows.h, kernels/route_rows.h)
// instead of tens of LibTorch ops with their dispatch, TensorIterator setup and temporaries.
// Everything else (CUDA, 16-bit dtypes, non-contiguous inputs, large prefills) keeps the torch
// ops of layers.cpp and routing_ops.cpp; both paths compute the same values up to float32
// summation order (docs/native-models.md, "CPU decode path").
#pragma once

#include <cstdint>
#include <optional>

#include <torch/torch.h>

#include "moeroute/routing.h"
#include "torch/layers/kv_cache.h"
#include "torch/recorder/routing_ops.h"

namespace moeroute::detail {

/// Token rows up to which the fused path runs (above it LibTorch's parallel kernels win).
inline constexpr int64_t kCpuFusedMaxRows = 16;

/// Test hook: route everything through the torch ops (true) or let the fused path apply (false).
void cpu_fused_force_off(bool off);

/// Test hook: how often each fused op ran in this process (the dispatch tests count them).
struct CpuFusedCounts {
  int64_t norms = 0, attention = 0, routes = 0, combines = 0;
};
CpuFusedCounts cpu_fused_counts();

/// Whether x (a float32 CPU contiguous tensor with at most kCpuFusedMaxRows rows of its last
/// dimension) and every defined `params` (float32, CPU, contiguous) take the fused path.
bool cpu_fused_applies(const at::Tensor& x, std::initializer_list<const at::Tensor*> params = {});

/// RMSNorm of x [..., n] with weight [n] (either RmsNormKind: in float32 they coincide).
at::Tensor cpu_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// One attention block's heads, from the fused projection qkv [B, T, (H + 2·KV)·D] (q heads, then
/// k, then v) to the heads' outputs [B, T, H·D]: per-head RMSNorm of q and k (when q_norm/k_norm
/// are defined), rotary with cos/sin [B, T, D], the fresh keys/values written into `layer`'s
/// cache at the plan's positions, then attention of each query over its row's keys at or before
/// it (within `window` when set; a padding column sees key 0 only), scores × scaling, softmax
/// in float32 with gpt-oss' `sinks` [H] when defined.
struct CpuAttention {
  int64_t heads = 0, kv_heads = 0, head_dim = 0;
  at::Tensor q_norm, k_norm, sinks;  ///< undefined = none
  double eps = 1e-6;                 ///< the per-head norms' epsilon
  std::optional<int64_t> window;     ///< sliding window, or none
  double scaling = 1.0;              ///< multiplies q·k
};
at::Tensor cpu_attention(const CpuAttention& a, const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin,
                         int layer, KvCache& cache, const StepPlan& plan);

/// `rule` applied to logits [N, E] without torch ops — for SoftmaxTopK and TopKSoftmax on the
/// fused path; none (route with route_tensor) for other rules or inputs, or where ties or NaN
/// leave the choice to at::topk's order (kernels/route_rows.h).
std::optional<RoutedTensors> cpu_route(const RoutingRule& rule, const at::Tensor& logits);

/// The experts' combine (y.view(N, k, H) · weights.unsqueeze(-1)).sum(1) for float32 CPU y [N·k,
/// H] and weights [N, k] → [N, H], rows split over the intra-op threads.
at::Tensor cpu_combine(const at::Tensor& y, const at::Tensor& weights);

}  // namespace moeroute::detail
