// device_map "auto": which GPU holds which decoder layer when one GPU is not enough. A pure
// function of byte counts, so it is tested without GPUs; native models call it with the sizes of
// their weights and the free memory CUDA reports (docs/native-models.md, "Devices").
#pragma once

#include <cstdint>
#include <vector>

namespace moeroute {

struct PlacementRequest {
  int64_t embed_bytes = 0;              ///< input embedding (runs before layer 0)
  std::vector<int64_t> layer_bytes;     ///< per decoder layer, in order: weights + KV cache allowance
  int64_t head_bytes = 0;               ///< final norm + lm_head (runs after the last layer)
  std::vector<int64_t> device_budgets;  ///< usable bytes per device, in device order
};

struct Placement {
  int embed_device = 0;               ///< index into device_budgets
  std::vector<int> layer_devices;     ///< per layer
  int head_device = 0;                ///< where the final norm and lm_head live
  std::vector<int64_t> device_bytes;  ///< planned bytes per device
};

/// Sequential fill: embedding, layers in order, then the head, each on the current device while
/// it fits, else on the next one — so devices are used in order, each hands its activations to
/// the next at most once per forward. Throws InputError naming the piece that does not fit, the
/// bytes needed in total and the bytes available.
Placement place_layers(const PlacementRequest& request);

}  // namespace moeroute
