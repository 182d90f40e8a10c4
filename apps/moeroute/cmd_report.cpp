#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "moeroute/report.h"

namespace moeroute::cli {

namespace {
struct ReportArgs {
  std::vector<std::string> inputs;
  std::string out, title, dist = "auto", metric = "jsd";
  bool no_simulator = false;
  int threads = 0;
};
}  // namespace

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report", "One self-contained interactive HTML file: divergence heatmap, tokens coloured by expert, expert "
                "shifts, utilisation and the routing simulator (docs/report.md)");
  cmd->add_option("inputs", args->inputs,
                  "compare output directories and/or trace files (.safetensors); exactly two trace files are "
                  "compared as base and variant")
      ->required();
  cmd->add_option("-o,--out", args->out, "HTML file to write")->required();
  cmd->add_option("--title", args->title, "Page title (default: from the model)");
  cmd->add_option("--dist", args->dist, "Two trace files: distribution compared (docs/metrics.md)")
      ->check(CLI::IsMember({"auto", "full", "topk"}))
      ->capture_default_str();
  cmd->add_option("--metric", args->metric, "Two trace files: divergence (jsd, kl, tv, hellinger)")
      ->check(CLI::IsMember({"jsd", "kl", "tv", "hellinger"}))
      ->capture_default_str();
  cmd->add_flag("--no-simulator", args->no_simulator, "Leave out the simulator page");
  cmd->add_option("--threads", args->threads, "Diff worker threads (0 = all cores)")->capture_default_str();
  cmd->callback([args] {
    ReportOptions o;
    o.title = args->title;
    o.simulator = !args->no_simulator;
    o.routing.dist = parse_dist_kind(args->dist);
    o.routing.metric = parse_divergence(args->metric);
    o.routing.threads = args->threads;
    write_report({args->inputs.begin(), args->inputs.end()}, args->out, o);
    fmt::print("wrote {}\n", args->out);
  });
}

}  // namespace moeroute::cli
