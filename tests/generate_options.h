// GenerateOptions the generation tests share: greedy decoding of exactly n tokens per row.
#pragma once

#include <cstdint>

#include "moeroute/generate.h"

namespace moeroute::test {

/// Greedy, n new tokens; the model's own stop tokens end a row only when `model_stop_tokens`
/// (off by default: goldens and comparisons generate a fixed length).
inline GenerateOptions greedy(int64_t n, bool model_stop_tokens = false) {
  GenerateOptions o;
  o.max_new_tokens = static_cast<int>(n);
  o.model_stop_tokens = model_stop_tokens;
  return o;
}

}  // namespace moeroute::test
