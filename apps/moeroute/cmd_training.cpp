#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "commands.h"
#include "moeroute/training.h"

namespace moeroute::cli {

void add_training_command(CLI::App& app) {
  auto o = std::make_shared<TrainingReportOptions>();
  auto log = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "training", "Plots and a diagnosis (collapse, under-used experts, trends) of an MoE training log (docs/training.md)");
  cmd->add_option("file", *log, "Training log: JSON Lines with epoch, routing_acc, entropy, utilization, metrics")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--affinity", o->affinity_csv, "router_affinity_matrix.csv for the heatmap")->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", *out, "Output directory (created; files appear only when all succeeded)")->required();
  cmd->add_option("--format", o->plot_formats, "Plot formats")->check(CLI::IsMember({"png", "svg"}))->delimiter(',');
  cmd->add_option("--collapse-share", o->diagnosis.collapse_share,
                  "Collapse: one expert receives at least this fraction of inputs")
      ->capture_default_str();
  cmd->add_option("--underused-fraction", o->diagnosis.underused_fraction_of_uniform,
                  "Under-used: an expert below this fraction of the uniform share 1/E")
      ->capture_default_str();
  cmd->add_option("--trend-tolerance", o->diagnosis.trend_tolerance,
                  "A series whose fitted change over the run is below this fraction of its mean is flat")
      ->capture_default_str();
  cmd->add_flag("--utilization-percent", o->read.utilization_percent, "Utilization values are percentages (0-100)");
  cmd->add_flag("--skip-bad-lines", o->read.skip_bad_lines, "Skip malformed lines (counted) instead of stopping");
  cmd->callback([o, log, out] {
    const TrainingReport r = run_training_report(*log, *out, *o);
    fmt::print("{} epochs ({} to {}), {} experts{}\n", r.log.records.size(), r.log.records.front().epoch,
               r.log.records.back().epoch, r.log.num_experts,
               r.log.bad_lines ? fmt::format("; skipped {} bad lines, the first: {}", r.log.bad_lines, r.log.first_bad) : "");
    for (const auto& f : r.diagnosis.findings) fmt::print("- {}\n", f);
    fmt::print("wrote {} files to {}: {}\n", r.files.size(), *out, fmt::join(r.files, ", "));
  });
}

}  // namespace moeroute::cli
