// Distances between the gate inputs of consecutive MoE layers (docs/metrics.md, "Gate-input
// distances"), per generation step and aggregated.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/error.h"
#include "moeroute/gate_inputs.h"

namespace moeroute {

std::string to_string(GateMetric m) {
  switch (m) {
    case GateMetric::CosineSimilarity: return "cosine_similarity";
    case GateMetric::CosineDistance: return "cosine_distance";
    case GateMetric::Euclidean: return "euclidean";
    case GateMetric::L2Normalized: return "l2_normalized";
    case GateMetric::Pearson: return "pearson";
    case GateMetric::MeanAbsDiff: return "mean_abs_diff";
  }
  return "?";
}

std::vector<double> gate_distances(const float* a, const float* b, std::size_t n) {
  // One pass for the sums every metric needs, in double.
  double ab = 0, aa = 0, bb = 0, sa = 0, sb = 0, d2 = 0, dabs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
    sa += x;
    sb += y;
    d2 += (x - y) * (x - y);
    dabs += std::abs(x - y);
  }
  const double nan = std::nan("");
  const double na = std::sqrt(aa), nb = std::sqrt(bb);
  const double cos = na > 0 && nb > 0 ? ab / (na * nb) : nan;
  // ‖a/‖a‖ − b/‖b‖‖² = 2 − 2 cos, clamped against rounding below 0.
  const double l2n = std::isnan(cos) ? nan : std::sqrt(std::max(0.0, 2.0 - 2.0 * cos));
  // Pearson from centred sums: Σ(x−x̄)(y−ȳ) = Σxy − n x̄ ȳ, etc. A second pass keeps it exact
  // for large offsets (hidden states are not centred).
  const double ma = sa / static_cast<double>(n), mb = sb / static_cast<double>(n);
  double cab = 0, caa = 0, cbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = a[i] - ma, y = b[i] - mb;
    cab += x * y;
    caa += x * x;
    cbb += y * y;
  }
  const double pearson = caa > 0 && cbb > 0 ? cab / std::sqrt(caa * cbb) : nan;
  return {cos, std::isnan(cos) ? nan : 1.0 - cos, std::sqrt(d2), l2n, pearson, dabs / static_cast<double>(n)};
}

GateInputAnalysis analyze_gate_inputs(const std::filesystem::path& path, const GateInputReadOptions& options) {
  GateInputAnalysis a;
  bool first = true;  // the first step fixes the layers; only distances are kept per step
  a.read = read_gate_inputs(path, options, [&](const GateInputStep& s) {
    if (first) {
      a.layers = s.layers;
      for (size_t i = 0; i + 1 < a.layers.size(); ++i) a.pairs.emplace_back(a.layers[i], a.layers[i + 1]);
      first = false;
    }
    for (int l : s.layers)
      if (std::find(a.layers.begin(), a.layers.end(), l) == a.layers.end())
        throw InputError(fmt::format("{}:{}: generation step {} has layer {}, which the first step does not "
                                     "(layers {})",
                                     path.string(), s.first_line, s.step, l, fmt::join(a.layers, ",")));
    const size_t base = a.values.size();
    a.values.resize(base + a.pairs.size() * kGateMetrics, std::nan(""));
    for (size_t p = 0; p < a.pairs.size(); ++p) {
      const auto ia = std::find(s.layers.begin(), s.layers.end(), a.pairs[p].first);
      const auto ib = std::find(s.layers.begin(), s.layers.end(), a.pairs[p].second);
      if (ia == s.layers.end() || ib == s.layers.end()) continue;  // this step lacks a layer: NaN
      const auto& va = s.values[static_cast<size_t>(ia - s.layers.begin())];
      const auto& vb = s.values[static_cast<size_t>(ib - s.layers.begin())];
      const auto d = gate_distances(va.data(), vb.data(), va.size());
      std::copy(d.begin(), d.end(), a.values.begin() + static_cast<std::ptrdiff_t>(base + p * kGateMetrics));
    }
    ++a.steps;
  });
  a.dim = a.read.dim;
  if (a.steps == 0)
    throw InputError(fmt::format("{}: no generation step (a pass whose lines all have token_id 0): {} prompt passes "
                                 "only",
                                 path.string(), a.read.prompt_passes));
  if (a.layers.size() < 2)
    throw InputError(fmt::format("{}: the log holds gate inputs of one layer ({}), distances need two",
                                 path.string(), a.layers.empty() ? -1 : a.layers[0]));
  a.aggregates.resize(a.pairs.size() * kGateMetrics);
  for (size_t p = 0; p < a.pairs.size(); ++p)
    for (int m = 0; m < kGateMetrics; ++m) {
      auto& g = a.aggregates[p * kGateMetrics + static_cast<size_t>(m)];
      double sum = 0;
      for (int64_t s = 0; s < a.steps; ++s) {
        const double v = a.value(s, p, static_cast<GateMetric>(m));
        if (std::isnan(v)) continue;
        ++g.count;
        sum += v;
        g.min = g.count == 1 ? v : std::min(g.min, v);
        g.max = g.count == 1 ? v : std::max(g.max, v);
      }
      if (g.count == 0) continue;
      g.mean = sum / static_cast<double>(g.count);
      double ss = 0;
      for (int64_t s = 0; s < a.steps; ++s) {
        const double v = a.value(s, p, static_cast<GateMetric>(m));
        if (!std::isnan(v)) ss += (v - g.mean) * (v - g.mean);
      }
      g.std = std::sqrt(ss / static_cast<double>(g.count));
    }
  return a;
}

}  // namespace moeroute
