// Colour helpers: hex parsing, matplotlib's colormap tables and series colours.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/plot.h"

namespace moeroute::plot {

namespace {
#include "colormap_tables.inc"

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// matplotlib's tab10, the default colour cycle since matplotlib 2.0.
constexpr const char* kTab10[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
}  // namespace

Color hex_color(std::string_view hex) {
  int v[6] = {};
  bool ok = hex.size() == 7 && hex[0] == '#';
  for (size_t i = 0; ok && i < 6; ++i) ok = (v[i] = hex_digit(hex[i + 1])) >= 0;
  if (!ok) throw InputError(fmt::format("colour '{}': expected #rrggbb", hex));
  return {(v[0] * 16 + v[1]) / 255.0, (v[2] * 16 + v[3]) / 255.0, (v[4] * 16 + v[5]) / 255.0};
}

std::string to_hex(const Color& c) {
  auto byte = [](double x) { return static_cast<int>(std::lround(std::clamp(x, 0.0, 1.0) * 255)); };
  return fmt::format("#{:02x}{:02x}{:02x}", byte(c.r), byte(c.g), byte(c.b));
}

Color colormap_color(Colormap colormap, double t) {
  if (std::isnan(t)) return kNanColor;
  // matplotlib: index = floor(t * N), with t = 1 mapped to the last entry.
  const double scaled = std::clamp(t, 0.0, 1.0) * 256.0;
  const int i = std::min(static_cast<int>(scaled), 255);
  const double(*table)[3] = colormap == Colormap::Viridis ? kViridis : kCoolwarm;
  return {table[i][0], table[i][1], table[i][2]};
}

Color series_color(std::size_t i) { return hex_color(kTab10[i % std::size(kTab10)]); }

}  // namespace moeroute::plot
