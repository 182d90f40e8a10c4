#include "io/base64.h"

#include <array>
#include <cctype>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

constexpr std::array<signed char, 256> make_table() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

std::string base64_decode(std::string_view text, const std::string& what) {
  size_t n = text.size();
  while (n > 0 && text[n - 1] == '=' && text.size() - n < 2) --n;
  if (n % 4 == 1) throw InputError(fmt::format("{}: base64 text of {} characters is cut off", what, text.size()));
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const signed char v = kTable[static_cast<unsigned char>(text[i])];
    if (v < 0)
      throw InputError(fmt::format("{}: character {} ('{}') is not base64", what, i + 1,
                                   std::isprint(static_cast<unsigned char>(text[i])) ? std::string(1, text[i]) : "?"));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace moeroute::detail
