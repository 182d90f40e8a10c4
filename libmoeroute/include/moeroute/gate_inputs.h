// Gate inputs of llama.cpp's gate-input log (seed 003: `gate_input,layer_id,token_id,v1 v2 …`,
// the hidden state each MoE router sees): for every generation step, how much the router input
// changes between consecutive MoE layers — cosine similarity and distance, Euclidean distance,
// distance of the L2-normalised vectors, Pearson correlation, mean absolute difference — per
// step and aggregated over steps. Definitions: docs/metrics.md, "Gate-input distances".
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moeroute {

/// The distances between the gate inputs a and b of two layers, in this order everywhere.
enum class GateMetric { CosineSimilarity, CosineDistance, Euclidean, L2Normalized, Pearson, MeanAbsDiff };
inline constexpr int kGateMetrics = 6;
/// "cosine_similarity", "cosine_distance", "euclidean", "l2_normalized", "pearson", "mean_abs_diff".
std::string to_string(GateMetric m);

/// All six metrics of a and b (n values each), in double precision. A zero vector makes the
/// cosine-based metrics NaN; a constant vector makes Pearson NaN.
std::vector<double> gate_distances(const float* a, const float* b, std::size_t n);

/// One generation step of the log: the gate input of every layer it holds.
struct GateInputStep {
  int64_t step = 0;                   ///< 0, 1, … in log order
  int64_t first_line = 0;             ///< line of the step's first gate_input line
  std::vector<int> layers;            ///< layer ids, increasing
  std::vector<std::vector<float>> values;  ///< one vector (n_embd values) per layer
};

struct GateInputReadOptions {
  bool skip_bad_lines = false;  ///< skip and count malformed lines instead of stopping
};

struct GateInputReadReport {
  int64_t lines = 0;             ///< gate_input lines read
  int64_t steps = 0;             ///< single-token passes handed on (generation steps)
  int64_t prompt_passes = 0;     ///< passes of several tokens (prompt batches), skipped
  int64_t other_lines = 0;       ///< lines of other kinds in the log (expert selections), skipped
  int64_t bad_lines = 0;         ///< skipped with skip_bad_lines
  std::string first_bad;         ///< the first skipped line's message
  int dim = 0;                   ///< values per line (n_embd)
};

/// Streams the generation steps of a gate-input log (or of a mixed log with expert lines) to
/// `on_step`. A pass (the lines of one forward pass, layer after layer) is a generation step when
/// all its lines have token_id 0 (a single token); prompt passes are counted and skipped.
/// Throws InputError "<file>:<line>:<column>: …" on malformed lines unless skip_bad_lines.
GateInputReadReport read_gate_inputs(const std::filesystem::path& path, const GateInputReadOptions& options,
                                     const std::function<void(const GateInputStep&)>& on_step);

/// Per-step distances and their aggregates.
struct GateInputAnalysis {
  std::vector<int> layers;                   ///< every layer the log holds, increasing
  std::vector<std::pair<int, int>> pairs;    ///< consecutive layers (layers[i], layers[i + 1])
  int64_t steps = 0;
  int dim = 0;
  std::vector<double> values;                ///< [steps, pairs, kGateMetrics]; NaN where a step lacks a layer
  struct Aggregate {
    int64_t count = 0;                       ///< steps with a finite value
    double mean = std::numeric_limits<double>::quiet_NaN();
    double std = std::numeric_limits<double>::quiet_NaN();  ///< population standard deviation (ddof 0)
    double min = std::numeric_limits<double>::quiet_NaN();
    double max = std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<Aggregate> aggregates;         ///< [pairs, kGateMetrics]
  GateInputReadReport read;
  double value(int64_t step, size_t pair, GateMetric m) const {
    return values[(static_cast<size_t>(step) * pairs.size() + pair) * kGateMetrics + static_cast<size_t>(m)];
  }
};

/// read_gate_inputs + the distances of every step. Throws InputError when the log holds no
/// generation step or fewer than two layers.
GateInputAnalysis analyze_gate_inputs(const std::filesystem::path& path, const GateInputReadOptions& options = {});

/// The aggregates as an aligned text table (one row per layer pair and metric).
std::string gate_inputs_table(const GateInputAnalysis& a);
/// One row per step and layer pair: step,layer_from,layer_to,<the six metrics>.
std::string gate_inputs_csv(const GateInputAnalysis& a);
/// Layers, pairs, counts, aggregates and per-step values (docs/outputs.md, "gate-inputs").
nlohmann::ordered_json gate_inputs_json(const GateInputAnalysis& a);
/// Six panels (one per metric), a line per layer pair over the steps; .png/.svg/.pdf by extension.
void gate_inputs_plot(const GateInputAnalysis& a, const std::filesystem::path& path);

/// Writes gate_inputs.csv, gate_inputs.json and gate_inputs.<format> for every plot format
/// into `dir`, all or nothing. Returns the file names.
std::vector<std::string> write_gate_inputs(const std::filesystem::path& dir, const GateInputAnalysis& a,
                                           const std::vector<std::string>& plot_formats = {"png"});

}  // namespace moeroute
