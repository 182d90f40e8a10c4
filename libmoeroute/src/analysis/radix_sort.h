// Sorting millions of p-values: an LSD radix sort on the bit patterns of non-negative floats
// (which order like their values), 3 passes of 11 bits — several times faster than std::sort,
// which dominated `kde pvalues` on 10⁶ logits per layer.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace moeroute::detail {

/// Sorts non-negative floats (−0 counts as 0; NaN and negative values are not allowed) ascending.
inline void sort_nonnegative_floats(std::vector<float>& v) {
  const std::size_t n = v.size();
  std::vector<uint32_t> keys(n), tmp(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::memcpy(&keys[i], &v[i], sizeof(uint32_t));
    if (keys[i] == 0x80000000u) keys[i] = 0;  // −0
  }
  constexpr int kBits = 11;
  constexpr uint32_t kMask = (1u << kBits) - 1;
  for (int shift = 0; shift < 32; shift += kBits) {
    std::array<std::size_t, (1u << kBits) + 1> count{};
    for (uint32_t k : keys) ++count[((k >> shift) & kMask) + 1];
    if (count[((keys.empty() ? 0 : keys[0] >> shift) & kMask) + 1] == n) continue;  // one digit: nothing moves
    for (std::size_t d = 1; d < count.size(); ++d) count[d] += count[d - 1];
    for (uint32_t k : keys) tmp[count[(k >> shift) & kMask]++] = k;
    keys.swap(tmp);
  }
  for (std::size_t i = 0; i < n; ++i) std::memcpy(&v[i], &keys[i], sizeof(float));
}

}  // namespace moeroute::detail
