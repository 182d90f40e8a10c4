// Deterministic weights for the built-in demo models: SplitMix64, a fixed platform-independent
// stream, so the weights never depend on LibTorch's RNG or version.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace moeroute::detail {

class WeightStream {
 public:
  explicit WeightStream(uint64_t seed) : state_(seed) {}
  /// Uint8 values uniform in [lo, hi] (MXFP4 codes and scales).
  at::Tensor bytes(at::IntArrayRef shape, int lo, int hi) {
    auto t = at::empty(shape, at::kByte);
    uint8_t* p = t.data_ptr<uint8_t>();
    const auto span = static_cast<uint64_t>(hi - lo + 1);
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<uint8_t>(lo + static_cast<int>(next() % span));
    return t;
  }
  /// Float32 values uniform in [-bound, bound).
  at::Tensor uniform(at::IntArrayRef shape, double bound) {
    auto t = at::empty(shape, at::kFloat);
    float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double u = static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
      p[i] = static_cast<float>((2.0 * u - 1.0) * bound);
    }
    return t;
  }

 private:
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

}  // namespace moeroute::detail
