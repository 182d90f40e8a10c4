// The interactive HTML report: one self-contained file (Chart.js, our scripts and styles and the
// data all embedded; nothing is fetched) with one page per input — a base-vs-variant comparison
// or a single trace — and the routing simulator. Views, data format and definitions:
// docs/report.md.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/routing_diff.h"
#include "moeroute/trace.h"

namespace moeroute {

struct ReportOptions {
  std::string title;                ///< page title; empty = "moeroute report · <model>"
  bool simulator = true;            ///< add the simulator page (toy layer + replay of the report's runs)
  int64_t max_rows = 200000;        ///< rows a run may have; larger traces are refused (the file grows ~20 B/row/layer)
  RoutingDiffOptions routing;       ///< how two trace files given alone are compared (dist, metric, threads)
  std::string og_image;             ///< absolute URL of a preview image for the Open Graph card; "" = no og:image
};

/// Builds a report page by page. Every run added must come from the same model as the first
/// (model id when both name one, layer names, expert count): the pages share one layer axis.
class Report {
 public:
  explicit Report(ReportOptions options = {});
  ~Report();
  Report(Report&&) noexcept;
  Report& operator=(Report&&) noexcept;

  /// A comparison page: the divergence heatmap and per-layer means, both texts token by token,
  /// the expert-shift table and utilisation over the aligned steps. `diff` must be
  /// diff_routing(base, var, …); `generations` is compare's generations.json (null when absent)
  /// and supplies the prompts shown. `title` names the page (e.g. the directory).
  void add_comparison(const std::string& title, const RouterTrace& base, const RouterTrace& var,
                      const RoutingDiff& diff, const nlohmann::json& generations = nullptr);
  /// A single-trace page: the text token by token coloured by expert, utilisation over all rows.
  void add_trace(const std::string& title, const RouterTrace& trace);

  /// Adds one input from the command line: a compare output directory (meta.json,
  /// base.safetensors, var.safetensors; generations.json optional) or a trace file. The diff of a
  /// directory is recomputed from its traces with the distribution and metric its meta.json
  /// names. Throws InputError naming the file that is missing or wrong.
  void add_input(const std::filesystem::path& path);

  /// A run the simulator page can replay token by token through its layers, without a page of
  /// its own (comparison and trace pages add their runs to the replay list themselves).
  void add_replay(const std::string& label, const RouterTrace& trace);

  /// Pages added so far.
  std::size_t size() const;
  /// The HTML document; with no page and the simulator on, the standalone simulator. Throws
  /// InputError when there is nothing to show.
  std::string html() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// What `moeroute report` does: each input is a page (add_input), except that exactly two trace
/// files and nothing else are compared as base and variant; the HTML is written atomically.
void write_report(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& out,
                  const ReportOptions& options = {});

/// The report of one compare run, for `compare --report`: one comparison page (and the
/// simulator), from the in-memory traces, diff and generations.json.
std::string comparison_report_html(const RouterTrace& base, const RouterTrace& var, const RoutingDiff& diff,
                                   const nlohmann::json& generations, const ReportOptions& options = {});

/// The standalone simulator page, able to replay the given trace files (may be none).
std::string simulator_html(const std::vector<std::filesystem::path>& replay_traces, const ReportOptions& options = {});

}  // namespace moeroute
