#include "tokenizer/utf8.h"

namespace moeroute::detail {

namespace {

struct LeadInfo {
  int continuation_bytes;  // -1: not a valid lead byte
  unsigned char low;       // allowed range of the first continuation byte (excludes overlong
  unsigned char high;      // forms, surrogates and code points above U+10FFFF)
};

LeadInfo lead_info(unsigned char b) {
  if (b < 0x80) return {0, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};
  return {-1, 0, 0};
}

// Number of bytes from `i` that form either a complete sequence (returned with `complete`) or
// the maximal subpart of one (at least 1).
std::size_t scan(std::string_view s, std::size_t i, bool& complete) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const LeadInfo info = lead_info(lead);
  if (info.continuation_bytes <= 0) {
    complete = info.continuation_bytes == 0;
    return 1;
  }
  std::size_t j = i + 1;
  unsigned char low = info.low;
  unsigned char high = info.high;
  for (int k = 0; k < info.continuation_bytes; ++k) {
    if (j >= s.size()) {
      complete = false;
      return j - i;
    }
    const auto c = static_cast<unsigned char>(s[j]);
    if (c < low || c > high) {
      complete = false;
      return j - i;
    }
    ++j;
    low = 0x80;
    high = 0xBF;
  }
  complete = true;
  return j - i;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  bool complete = false;
  const std::size_t n = scan(s, i, complete);
  return complete ? n : 0;
}

char32_t utf8_decode(std::string_view s, std::size_t i, std::size_t len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (len == 1) return b0;
  char32_t cp = b0 & (0xFF >> (len + 1));
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool utf8_is_valid(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8_repair(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    bool complete = false;
    const std::size_t n = scan(s, i, complete);
    if (complete) {
      out.append(s.data() + i, n);
    } else {
      out.append("\xEF\xBF\xBD");
    }
    i += n;
  }
  return out;
}

}  // namespace moeroute::detail
