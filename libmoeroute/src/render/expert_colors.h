// The colour of expert i, shared by the GIF frames and the HTML report (which embeds the list),
// so an expert looks the same everywhere.
#pragma once

#include <cstddef>
#include <vector>

#include "moeroute/plot.h"

namespace moeroute::plot::detail {

/// Experts 0…11 take a fixed set of twelve distinguishable mid-tone colours; from 12 on, hues
/// step by the golden angle (137.508°) at HSL saturation 0.62 and lightness 0.55.
Color expert_color(std::size_t expert);
/// expert_color(0 … count − 1).
std::vector<Color> expert_colors(std::size_t count);

}  // namespace moeroute::plot::detail
