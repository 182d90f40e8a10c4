// Outputs of `moeroute gate-inputs` (docs/outputs.md): table, CSV, JSON and the plot.
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/csv.h"
#include "moeroute/error.h"
#include "moeroute/gate_inputs.h"
#include "moeroute/output_dir.h"
#include "moeroute/plot.h"

namespace moeroute {

using detail::csv_row;
using detail::format_number;

namespace {

std::string pair_name(const std::pair<int, int>& p) { return fmt::format("{}→{}", p.first, p.second); }

nlohmann::ordered_json num(double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); }

}  // namespace

std::string gate_inputs_table(const GateInputAnalysis& a) {
  std::string out = fmt::format("{} generation steps, {} layers ({}), n_embd {}; {} prompt passes skipped\n", a.steps,
                                a.layers.size(), fmt::join(a.layers, ","), a.dim, a.read.prompt_passes);
  if (a.read.bad_lines > 0) out += fmt::format("skipped {} bad lines; the first: {}\n", a.read.bad_lines, a.read.first_bad);
  out += fmt::format("{:<9} {:<18} {:>7} {:>12} {:>12} {:>12} {:>12}\n", "layers", "metric", "steps", "mean", "std",
                     "min", "max");
  for (size_t p = 0; p < a.pairs.size(); ++p)
    for (int m = 0; m < kGateMetrics; ++m) {
      const auto& g = a.aggregates[p * kGateMetrics + static_cast<size_t>(m)];
      out += fmt::format("{:<9} {:<18} {:>7} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g}\n", pair_name(a.pairs[p]),
                         to_string(static_cast<GateMetric>(m)), g.count, g.mean, g.std, g.min, g.max);
    }
  return out;
}

std::string gate_inputs_csv(const GateInputAnalysis& a) {
  std::vector<std::string> header{"step", "layer_from", "layer_to"};
  for (int m = 0; m < kGateMetrics; ++m) header.push_back(to_string(static_cast<GateMetric>(m)));
  std::string out = csv_row(header);
  for (int64_t s = 0; s < a.steps; ++s)
    for (size_t p = 0; p < a.pairs.size(); ++p) {
      std::vector<std::string> row{std::to_string(s), std::to_string(a.pairs[p].first), std::to_string(a.pairs[p].second)};
      for (int m = 0; m < kGateMetrics; ++m) row.push_back(format_number(a.value(s, p, static_cast<GateMetric>(m))));
      out += csv_row(row);
    }
  return out;
}

nlohmann::ordered_json gate_inputs_json(const GateInputAnalysis& a) {
  nlohmann::ordered_json j;
  j["layers"] = a.layers;
  j["n_embd"] = a.dim;
  j["steps"] = a.steps;
  j["gate_input_lines"] = a.read.lines;
  j["prompt_passes_skipped"] = a.read.prompt_passes;
  j["other_lines_skipped"] = a.read.other_lines;
  j["bad_lines_skipped"] = a.read.bad_lines;
  j["std_ddof"] = 0;
  auto& pairs = j["pairs"] = nlohmann::ordered_json::array();
  for (size_t p = 0; p < a.pairs.size(); ++p) {
    nlohmann::ordered_json e;
    e["layer_from"] = a.pairs[p].first;
    e["layer_to"] = a.pairs[p].second;
    for (int m = 0; m < kGateMetrics; ++m) {
      const auto& g = a.aggregates[p * kGateMetrics + static_cast<size_t>(m)];
      std::vector<nlohmann::ordered_json> per_step;
      for (int64_t s = 0; s < a.steps; ++s) per_step.push_back(num(a.value(s, p, static_cast<GateMetric>(m))));
      e[to_string(static_cast<GateMetric>(m))] = {{"count", g.count}, {"mean", num(g.mean)}, {"std", num(g.std)},
                                                  {"min", num(g.min)},   {"max", num(g.max)},   {"per_step", per_step}};
    }
    pairs.push_back(std::move(e));
  }
  return j;
}

void gate_inputs_plot(const GateInputAnalysis& a, const std::filesystem::path& path) {
  static const char* titles[kGateMetrics] = {"Cosine similarity", "Cosine distance", "Euclidean distance",
                                             "L2-normalised distance", "Pearson correlation", "Mean absolute difference"};
  plot::Figure fig(1200, 760, 2, 3);
  for (int m = 0; m < kGateMetrics; ++m) {
    plot::Axes& ax = fig.axes(static_cast<size_t>(m / 3), static_cast<size_t>(m % 3));
    ax.set_title(titles[m]).set_xlabel("generation step");
    for (size_t p = 0; p < a.pairs.size(); ++p) {
      plot::LineSpec line;
      for (int64_t s = 0; s < a.steps; ++s) {
        line.x.push_back(static_cast<double>(s));
        line.y.push_back(a.value(s, p, static_cast<GateMetric>(m)));
      }
      line.label = m == 0 ? "layers " + pair_name(a.pairs[p]) : "";
      line.markers = a.steps <= 40;
      ax.line(std::move(line));
    }
  }
  fig.save(path);
}

std::vector<std::string> write_gate_inputs(const std::filesystem::path& dir, const GateInputAnalysis& a,
                                           const std::vector<std::string>& plot_formats) {
  OutputDir out(dir);
  out.write("gate_inputs.csv", gate_inputs_csv(a));
  out.write("gate_inputs.json", gate_inputs_json(a).dump(2) + "\n");
  for (const auto& f : plot_formats) {
    if (f != "png" && f != "svg") throw InputError(fmt::format("plot format '{}' is not one of: png, svg", f));
    gate_inputs_plot(a, out.staged_path("gate_inputs." + f));
  }
  return out.commit();
}

}  // namespace moeroute
