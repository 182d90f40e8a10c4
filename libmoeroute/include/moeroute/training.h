// MoE training logs (seed 001): a JSON Lines log with per epoch `epoch, routing_acc, entropy,
// utilization[], metrics{accuracy, loss}` and a router affinity matrix CSV; the seed's plots and
// a diagnosis (routing collapse, under-used experts, trends). Formats, plots and thresholds:
// docs/training.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moeroute {

/// One line of the training log. Absent numbers are NaN.
struct TrainingRecord {
  int64_t line = 0;                      ///< line in the file
  double epoch = 0;                      ///< the epoch (an integer or a fractional epoch)
  double routing_acc = std::numeric_limits<double>::quiet_NaN();
  double entropy = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();  ///< metrics.accuracy
  double loss = std::numeric_limits<double>::quiet_NaN();      ///< metrics.loss
  std::vector<double> utilization;       ///< fraction of inputs per expert (empty = absent)
};

struct TrainingReadOptions {
  bool skip_bad_lines = false;       ///< skip and count malformed lines instead of stopping
  bool utilization_percent = false;  ///< utilization values are percentages (0–100), not fractions (0–1)
};

struct TrainingLog {
  std::vector<TrainingRecord> records;  ///< in file order, epochs strictly increasing
  int num_experts = 0;                  ///< utilization length (0 = no utilization)
  int64_t bad_lines = 0;                ///< skipped with skip_bad_lines
  std::string first_bad;                ///< the first skipped line's message
  bool has(double TrainingRecord::*field) const;  ///< any record carries this number
};

/// Reads the JSON Lines training log. Errors ("<file>:<line>:<column>: …"): invalid JSON (a
/// truncated last line included), non-numeric or out-of-range values, a missing epoch, epochs
/// that do not increase, utilization arrays of different lengths, an empty file.
TrainingLog read_training_log(const std::filesystem::path& path, const TrainingReadOptions& options = {});

/// A numeric matrix from CSV: the router affinity of each input (row) to each expert (column).
/// A first row with non-numeric fields is a header (column labels); a first column of labels
/// (pandas' index, or a header starting with an empty field) gives row labels.
struct AffinityMatrix {
  std::vector<std::string> row_labels, col_labels;
  std::size_t rows = 0, cols = 0;
  std::vector<double> values;  ///< rows × cols, row-major
};
/// Throws InputError "<file>:<line>:<column>: …" on ragged rows, non-numeric or non-finite values,
/// an empty file.
AffinityMatrix read_affinity_csv(const std::filesystem::path& path);

/// Thresholds of the diagnosis (docs/training.md, "Diagnosis").
struct DiagnosisOptions {
  double collapse_share = 0.9;             ///< collapse: one expert receives at least this fraction of inputs ("near 100 %")
  double underused_fraction_of_uniform = 0.1;  ///< under-used: below this fraction of the uniform share 1/E ("near 0 %")
  double trend_tolerance = 0.05;           ///< a series whose fitted change over the run is below this fraction of its mean |value| is flat
};

/// A least-squares line through a series over the epochs.
struct Trend {
  std::string series;        ///< "entropy", "routing_acc", "loss", "accuracy"
  int64_t points = 0;        ///< epochs with a value
  double first = std::numeric_limits<double>::quiet_NaN(), last = std::numeric_limits<double>::quiet_NaN();
  double slope = std::numeric_limits<double>::quiet_NaN();            ///< change per epoch
  double relative_change = std::numeric_limits<double>::quiet_NaN();  ///< slope × epoch span / mean |value|
  std::string direction;     ///< "decreasing", "increasing", "flat", or "unknown" (fewer than 2 points)
  std::string expected;      ///< the healthy direction (entropy and loss decrease, accuracies increase)
};

struct Diagnosis {
  int num_experts = 0;
  double uniform_share = 0;                 ///< 1 / num_experts
  double underused_below = 0;               ///< the under-use threshold as a share
  // Collapse: epochs where one expert takes at least collapse_share.
  std::vector<double> collapse_epochs;
  std::vector<int> collapse_experts;        ///< the dominating expert per collapse epoch
  std::vector<double> collapse_shares;      ///< its share per collapse epoch
  // The final epoch with utilization.
  double final_epoch = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> final_utilization;
  int final_top_expert = -1;
  std::vector<int> underused_final;         ///< experts under the threshold at the final epoch
  std::vector<int> underused_always;        ///< experts under it at every epoch with utilization
  std::vector<Trend> trends;
  std::vector<std::string> findings;        ///< one line per finding, for people
};

Diagnosis diagnose_training(const TrainingLog& log, const DiagnosisOptions& options = {});
nlohmann::ordered_json diagnosis_json(const Diagnosis& d, const DiagnosisOptions& options);

struct TrainingReportOptions {
  TrainingReadOptions read;
  DiagnosisOptions diagnosis;
  std::filesystem::path affinity_csv;               ///< router_affinity_matrix.csv; empty = no heatmap
  std::vector<std::string> plot_formats = {"png"};  ///< any of "png", "svg"
};

struct TrainingReport {
  TrainingLog log;
  Diagnosis diagnosis;
  std::vector<std::string> files;
};

/// The `moeroute training` job: reads the log (and the affinity CSV), diagnoses, and writes the
/// plots and diagnosis.json into `dir`, all or nothing (docs/training.md).
TrainingReport run_training_report(const std::filesystem::path& log, const std::filesystem::path& dir,
                                   const TrainingReportOptions& options = {});

}  // namespace moeroute
