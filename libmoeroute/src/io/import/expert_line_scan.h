// The hot loop of the llama.cpp expert-log importer: well-formed lines
// "<layer>,<id> <id> … <id>\n" split into numbers without a branch per character. A bit mask
// of the non-digit bytes of 64 bytes at a time (SSE2, on every x86-64 CPU) gives each number's
// end; each number is converted from one unaligned load, independently of the others. Lines of
// any other shape return -1 and go through the importer's checked slow path, which explains them.
// (Checked against printf for every value below 10^7: tests/unit/test_import_llama_cpp.cpp.)
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace moeroute::detail {

/// The value of the `length` (1–7) decimal digits at p, from one unaligned load: the digits move
/// to the top bytes (leading zeros below) and are combined in pairs, quads and octets. Numbers
/// of up to 4 digits (every expert id) take the 32-bit path.
inline uint32_t decimal_digits(const char* p, int length) {
  if (length <= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    uint32_t d = (w - 0x30303030u) << (8 * (4 - length));
    d = (d * 10 + (d >> 8)) & 0x00FF00FFu;
    return (d * (1 + (100u << 16))) >> 16;
  }
  uint64_t w;
  std::memcpy(&w, p, 8);
  uint64_t d = (w - 0x3030303030303030u) << (8 * (8 - length));
  d = (d * 10 + (d >> 8)) & 0x00FF00FF00FF00FFu;
  d = ((d * (1 + (uint64_t{100} << 16))) >> 16) & 0x0000FFFF0000FFFFu;
  d = (d * (1 + (uint64_t{10000} << 32))) >> 32;
  return static_cast<uint32_t>(d);
}

/// Bit i set when byte p[i] (i < 64) is not an ASCII digit.
inline uint64_t nondigit_mask(const char* p) {
#if defined(__SSE2__)
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
  uint64_t digits = 0;
  for (int i = 0; i < 4; ++i) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    // x − '0' as unsigned bytes is at most 9 exactly for digits.
    const __m128i t = _mm_sub_epi8(x, zero);
    const auto m = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(t, nine), nine)));
    digits |= static_cast<uint64_t>(m) << (16 * i);
  }
  return ~digits;
#else
  uint64_t m = 0;
  for (int i = 0; i < 64; ++i) m |= static_cast<uint64_t>(static_cast<unsigned char>(p[i] - '0') > 9) << i;
  return m;
#endif
}

/// Walks the non-digit bytes of a buffer in order, 64 bytes at a time. The buffer must be
/// readable 64 bytes past the position of its last non-digit byte (LineReader pads blocks).
class NondigitWalker {
 public:
  explicit NondigitWalker(const char* base) : base_(base) {}
  /// Restarts at offset `pos`: the next non-digit at or after it comes next.
  void seek(size_t pos) {
    chunk_ = pos >> 6;
    left_ = nondigit_mask(base_ + (chunk_ << 6)) & (~uint64_t{0} << (pos & 63));
  }
  /// Offset of the next non-digit byte.
  size_t next() {
    while (left_ == 0) left_ = nondigit_mask(base_ + (++chunk_ << 6));
    const size_t at = (chunk_ << 6) + static_cast<size_t>(__builtin_ctzll(left_));
    left_ &= left_ - 1;
    return at;
  }

 private:
  const char* base_;
  size_t chunk_ = 0;
  uint64_t left_ = 0;
};

/// Splits the line starting at offset `start` of the walker's buffer into values[0] (the layer)
/// and values[1…] (the ids): returns their number and sets `next` to the offset after the
/// line's '\n', or returns -1 when the line is not exactly 1–7 digits per number, one ',',
/// single spaces and '\n' (the walker is then left anywhere: seek before reuse).
inline int scan_expert_line(const char* base, NondigitWalker& w, size_t start, uint32_t* values, int max_values,
                            size_t& next) {
  int n = 0;
  size_t num = start;
  for (;;) {
    const size_t at = w.next();
    const size_t length = at - num;
    const char c = base[at];
    if (length - 1 > 6 || n == max_values) return -1;  // empty (length 0 wraps around) or over 7 digits
    values[n++] = decimal_digits(base + num, static_cast<int>(length));
    num = at + 1;
    if (c == ' ' && n > 1) continue;
    if (c == ',' && n == 1) continue;
    if (c == '\n' && n > 1) {
      next = num;
      return n;
    }
    return -1;
  }
}

}  // namespace moeroute::detail
