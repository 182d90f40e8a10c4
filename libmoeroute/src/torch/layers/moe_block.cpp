#include "torch/layers/moe_block.h"

#include "torch/layers/cpu_decode.h"
#include "torch/layers/layers.h"
#include "torch/recorder/routing_ops.h"

namespace moeroute::detail {

at::Tensor moe_block(const MoeBlockWeights& w, const MoeBlockSpec& spec, const at::Tensor& x, Recorder* recorder,
                     bool sync_free) {
  const auto x2 = x.reshape({-1, x.size(-1)});
  const auto logits = linear(x2, w.router, w.router_bias);  // [B·T, E], in the run dtype
  auto fused = cpu_route(spec.rule, logits);                // few float32 CPU rows, no ties
  const auto routed = fused ? std::move(*fused) : route_tensor(spec.rule, logits);  // weights in float32
  if (recorder && recorder->wants(w.slot)) recorder->observe(w.slot, logits, routed.ids, routed.weights);
  // transformers casts the routing weights to the activations' dtype before the experts.
  const auto weights = routed.weights.to(x.scalar_type());
  const auto impl = sync_free && spec.experts == ExpertsImpl::Auto ? ExpertsImpl::Gather : spec.experts;
  return run_experts(w.experts, x2, routed.ids, weights, spec.activation, impl).view(x.sizes());
}

}  // namespace moeroute::detail
