// The one MoE block of the native families: router logits (bias included) → the family's routing
// rule as torch ops (recorder/routing_ops.h) → routed experts. The Recorder receives the logits
// together with the ids and weights the experts then use, so what is recorded is by construction
// what ran (docs/native-models.md, "Experts").
#pragma once

#include <torch/torch.h>

#include "moeroute/routing.h"
#include "moeroute/torch/recorder.h"
#include "torch/layers/moe_experts.h"

namespace moeroute::detail {

struct MoeBlockWeights {
  int slot = -1;            ///< recorder slot (the block's index among the model's MoE layers)
  at::Tensor router;        ///< [E, H]
  at::Tensor router_bias;   ///< [E] or undefined
  ExpertWeights experts;
};

/// How a family's MoE blocks route and activate.
struct MoeBlockSpec {
  RoutingRule rule;             ///< the routers' rule (top_k = the model's k)
  ExpertActivation activation;  ///< gate_up outputs → expert activations
  ExpertsImpl experts = ExpertsImpl::Auto;  ///< experts implementation
};

/// x [..., H] → [..., H]. `recorder` may be null. `sync_free` (a static step): the experts run as
/// `gather` when the implementation is auto — the others read expert ids or counts on the host.
at::Tensor moe_block(const MoeBlockWeights& w, const MoeBlockSpec& spec, const at::Tensor& x, Recorder* recorder,
                     bool sync_free = false);

}  // namespace moeroute::detail
