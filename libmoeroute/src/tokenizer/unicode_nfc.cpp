#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tokenizer/utf8.h"

namespace moeroute::detail {

namespace {

#include "tokenizer/unicode_nfc_data.inc"

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

std::uint16_t props(char32_t cp) {
  if (cp >= 0x110000) return 0;
  return kPropStage2[static_cast<std::size_t>(kPropStage1[cp >> 8]) * 256 + (cp & 0xFF)];
}

std::uint8_t combining_class(char32_t cp) { return static_cast<std::uint8_t>(props(cp) & 0xFF); }

void decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto* end = kDecompCodePoints + std::size(kDecompCodePoints);
  const auto* it = std::lower_bound(kDecompCodePoints, end, static_cast<std::uint32_t>(cp));
  if (it == end || *it != cp) {
    out.push_back(cp);
    return;
  }
  const auto k = static_cast<std::size_t>(it - kDecompCodePoints);
  for (std::size_t j = 0; j < kDecompLengths[k]; ++j) out.push_back(kDecompPool[kDecompOffsets[k] + j]);
}

// The primary composite of (a, b), or 0.
char32_t compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const std::uint64_t key = (static_cast<std::uint64_t>(a) << 21) | b;
  const auto* end = kComposePairs + std::size(kComposePairs);
  const auto* it = std::lower_bound(kComposePairs, end, key);
  if (it == end || *it != key) return 0;
  return kComposeResults[it - kComposePairs];
}

}  // namespace

bool nfc_quick_check(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) return false;
    if (props(utf8_decode(text, i, n)) != 0) return false;
    i += n;
  }
  return true;
}

std::string to_nfc(std::string_view text) {
  if (nfc_quick_check(text)) return std::string(text);
  // 1. Full canonical decomposition.
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) n = 1;  // callers pass valid UTF-8; stay memory-safe regardless
    decompose(utf8_decode(text, i, n), cps);
    i += n;
  }
  // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
  for (std::size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // 3. Canonical composition: each character composes with the last starter unless a
  //    character between them blocks it (same or higher class, or a starter).
  std::vector<char32_t> out;
  out.reserve(cps.size());
  std::ptrdiff_t starter = -1;
  int last_class = -1;
  for (const char32_t cp : cps) {
    const int cls = combining_class(cp);
    if (starter >= 0) {
      const bool blocked = last_class != -1 && (last_class == 0 || last_class >= cls);
      if (!blocked) {
        const char32_t composite = compose(out[static_cast<std::size_t>(starter)], cp);
        if (composite != 0) {
          out[static_cast<std::size_t>(starter)] = composite;
          continue;
        }
      }
    }
    if (cls == 0) {
      starter = static_cast<std::ptrdiff_t>(out.size());
      last_class = -1;
    } else {
      last_class = cls;
    }
    out.push_back(cp);
  }
  std::string result;
  result.reserve(text.size());
  for (const char32_t cp : out) utf8_append(result, cp);
  return result;
}

}  // namespace moeroute::detail
