// Routing rules as torch ops on the logits' device (the host reference is moeroute::route).
#pragma once

#include <ATen/core/Tensor.h>

#include "moeroute/routing.h"

namespace moeroute::detail {

struct RoutedTensors {
  at::Tensor ids;      ///< [N, k] int64, best first
  at::Tensor weights;  ///< [N, k] float32
};

/// Applies `rule` to logits [N, E] with the same torch calls as the reference implementations,
/// so ties resolve as they did in the model (docs/recording.md, "Ties"). The native families
/// route with it too (layers/moe_block.h): one implementation of each rule.
RoutedTensors route_tensor(const RoutingRule& rule, const at::Tensor& logits);

}  // namespace moeroute::detail
