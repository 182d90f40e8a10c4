#include "moeroute/device_map.h"

#include <numeric>
#include <string>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

namespace {

std::string gib(int64_t bytes) { return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1ull << 30)); }

}  // namespace

Placement place_layers(const PlacementRequest& r) {
  const auto n = static_cast<int>(r.device_budgets.size());
  if (n == 0) throw InputError("device_map auto: no device to place the model on");
  Placement p;
  p.device_bytes.assign(static_cast<size_t>(n), 0);
  int device = 0;
  const int64_t total =
      r.embed_bytes + r.head_bytes + std::accumulate(r.layer_bytes.begin(), r.layer_bytes.end(), int64_t{0});
  const int64_t available = std::accumulate(r.device_budgets.begin(), r.device_budgets.end(), int64_t{0});
  auto place = [&](int64_t bytes, const std::string& what) {
    if (bytes < 0) throw InputError(fmt::format("device_map auto: negative size for {}", what));
    while (device < n && p.device_bytes[static_cast<size_t>(device)] + bytes > r.device_budgets[static_cast<size_t>(device)])
      ++device;
    if (device == n)
      throw InputError(fmt::format("device_map auto: the model does not fit: {} ({}) finds no room; the model needs "
                                   "{} in all, the {} device(s) offer {}",
                                   what, gib(bytes), gib(total), n, gib(available)));
    p.device_bytes[static_cast<size_t>(device)] += bytes;
    return device;
  };
  p.embed_device = place(r.embed_bytes, "the embedding");
  for (size_t i = 0; i < r.layer_bytes.size(); ++i)
    p.layer_devices.push_back(place(r.layer_bytes[i], fmt::format("layer {}", i)));
  p.head_device = place(r.head_bytes, "the final norm and lm_head");
  return p;
}

}  // namespace moeroute
