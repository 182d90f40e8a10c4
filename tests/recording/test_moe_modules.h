// Small TorchScript MoE models built in C++ with transformers' module names, for hook tests.
#pragma once

#include <torch/script.h>

#include "moeroute/routing.h"

namespace moeroute::test {

/// Which router the layers use (what transformers' versions return from it).
enum class RouterStyle {
  QwenGate,      ///< model.layers.N.mlp.gate: Linear, returns the logits (transformers 4.x Qwen/OLMoE/Mixtral)
  GptOssRouter,  ///< model.layers.N.mlp.router: Linear + bias, returns (scattered scores, indices) (4.x gpt-oss)
  GptOssRouterV5,  ///< router returns (raw logits, top-k weights, indices) (transformers 5.x gpt-oss)
  QwenRouterV5,  ///< mlp.gate returns (softmax probabilities named router_logits, weights, indices) (5.x Qwen3)
};

struct MoeSpec {
  RouterStyle style = RouterStyle::QwenGate;
  int layers = 3;
  int experts = 8;
  int hidden = 4;
  int top_k = 2;
  uint64_t seed = 1;
};

/// The rule the spec's routers implement.
RoutingRule rule_of(const MoeSpec& spec);

/// forward(x [N, hidden]) → (h [N, hidden], router outputs: List[Tensor] (what the MoE block took
/// as logits/scores from its router), router inputs: List[Tensor]). Layer 0's router weight column 0
/// is set to known values (see the tests) so x = e₀ gives hand-computable logits.
torch::jit::Module build_moe(const MoeSpec& spec);

}  // namespace moeroute::test
