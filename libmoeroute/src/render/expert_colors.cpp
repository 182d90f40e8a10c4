#include "expert_colors.h"

#include <array>
#include <algorithm>
#include <cmath>

namespace moeroute::plot::detail {

namespace {

// Twelve mid-tone colours (the seed visualiser's palette: green, blue, pink, amber, …).
constexpr std::array<std::array<int, 3>, 12> kFixed{{{110, 231, 183}, {147, 197, 253}, {244, 114, 182},
                                                      {245, 158, 11},  {52, 211, 153},  {96, 165, 250},
                                                      {167, 139, 250}, {251, 113, 133}, {34, 211, 238},
                                                      {234, 179, 8},   {74, 222, 128},  {249, 115, 22}}};

Color hsl(double hue_deg, double s, double l) {
  // CSS Color 4's HSL → RGB.
  const auto f = [&](double n) {
    const double k = std::fmod(n + hue_deg / 30.0, 12.0);
    const double a = s * std::fmin(l, 1 - l);
    return l - a * std::fmax(-1.0, std::min({k - 3, 9 - k, 1.0}));
  };
  return {f(0), f(8), f(4)};
}

}  // namespace

Color expert_color(std::size_t expert) {
  if (expert < kFixed.size()) {
    const auto& c = kFixed[expert];
    return {c[0] / 255.0, c[1] / 255.0, c[2] / 255.0};
  }
  return hsl(std::fmod(static_cast<double>(expert) * 137.508, 360.0), 0.62, 0.55);
}

std::vector<Color> expert_colors(std::size_t count) {
  std::vector<Color> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(expert_color(i));
  return out;
}

}  // namespace moeroute::plot::detail
