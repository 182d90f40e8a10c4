#include "torch/layers/decoder_layer.h"

#include <cmath>

#include "torch/layers/cpu_decode.h"

namespace moeroute::detail {

namespace {

at::Tensor attention_block(const AttentionWeights& a, int index, const DecoderSpec& spec, const c10::Device& device,
                           const at::Tensor& x, ForwardContext& ctx, KvCache& cache) {
  const int64_t B = x.size(0), T = x.size(1), D = spec.head_dim;
  const int64_t Q = a.o.size(1), KV = (a.qkv.size(0) - Q) / 2;
  const auto qkv = linear(x, a.qkv, a.qkv_bias);  // [B, T, Q + 2·KV]
  const auto& [cos, sin] = ctx.rope(device);
  const double scaling = 1.0 / std::sqrt(double(D));
  // The fused kernels write the cache at host-known positions: not in a static step.
  if (!ctx.plan().static_step() && cpu_fused_applies(qkv, {&a.q_norm, &a.k_norm, &a.sinks, &cos, &sin})) {
    const CpuAttention fused{Q / D, KV / D, D, a.q_norm, a.k_norm, a.sinks, spec.rms_norm_eps, a.window, scaling};
    return linear(cpu_attention(fused, qkv, cos, sin, index, cache, ctx.plan()), a.o, a.o_bias);
  }
  // Columns [from, from + n) → [B, heads, T, D], with the per-head norm (Qwen3) before the transpose.
  auto heads = [&](int64_t from, int64_t n, const at::Tensor& norm) {
    auto y = qkv.narrow(-1, from, n).view({B, T, -1, D});
    if (norm.defined()) y = rms_norm(y, norm, spec.rms_norm_eps);
    return y.transpose(1, 2);
  };
  const auto q = apply_rotary(heads(0, Q, a.q_norm), cos, sin);
  const auto k = apply_rotary(heads(Q, KV, a.k_norm), cos, sin);
  const auto [keys, values] = cache.update(index, k, heads(Q + KV, KV, {}), ctx.plan());
  const auto out = attention(q, keys, values, ctx.mask(device, a.window), scaling, a.sinks);
  return linear(out, a.o, a.o_bias);
}

at::Tensor dense_mlp(const DenseMlpWeights& w, const at::Tensor& x) {
  // Qualified: at::linear would be found by argument-dependent lookup too.
  return detail::linear(at::silu(detail::linear(x, w.gate)) * detail::linear(x, w.up), w.down);
}

}  // namespace

at::Tensor decoder_layer(const DecoderLayer& L, int index, const DecoderSpec& spec, at::Tensor h,
                         ForwardContext& ctx, KvCache& cache, Recorder* recorder) {
  h = h.to(L.device);
  auto x = rms_norm(h, L.input_norm, spec.rms_norm_eps, spec.norm);
  h = h + attention_block(L.attention, index, spec, L.device, x, ctx, cache);
  x = rms_norm(h, L.post_norm, spec.rms_norm_eps, spec.norm);
  return h + (L.moe ? moe_block(*L.moe, spec.moe, x, recorder, ctx.plan().static_step()) : dense_mlp(L.dense, x));
}

}  // namespace moeroute::detail
