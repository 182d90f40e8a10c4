// Next-token sampling on the host: greedy, temperature and nucleus (top-p) sampling with a seeded
// random stream, so a seed gives the same tokens on every machine and device.
#pragma once

#include <cstdint>
#include <random>

namespace moeroute {

struct SamplingOptions {
  double temperature = 0.0;  ///< 0 = greedy (argmax, lowest id on ties); > 0 divides the logits
  double top_p = 1.0;        ///< sample only from the smallest top set holding ≥ top_p of the mass; 1 = all
  uint64_t seed = 0;         ///< seed of the random stream (std::mt19937_64)

  /// Throws InputError when temperature < 0 or top_p ∉ (0, 1] (or either is not finite).
  void validate() const;
};

/// Draws token ids from next-token logits. One Sampler per sequence keeps its stream independent
/// of how sequences are batched.
class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);

  /// The next token for `logits[0..vocab)`. Sampling: p = softmax(logits / temperature) in double,
  /// tokens sorted by p (ties: lower id first), the shortest prefix whose mass reaches top_p is
  /// kept and renormalised, and u ∈ [0,1) from the stream picks the first token whose cumulative
  /// mass exceeds u.
  int64_t next(const float* logits, int64_t vocab);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace moeroute
