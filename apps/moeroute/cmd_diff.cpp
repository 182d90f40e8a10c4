#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "output_options.h"
#include "moeroute/diff.h"
#include "moeroute/trace_io.h"

namespace moeroute::cli {

namespace {
struct DiffArgs {
  std::string base, var, out;
  std::string dist = "auto", metric = "jsd";
  int top_n = 10;
  int threads = 0;
  OutputArgs output;
};
}  // namespace

void add_diff_command(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = app.add_subcommand(
      "diff", "Compare two recorded traces: divergence per layer and generation step, expert shifts, plots");
  cmd->add_option("base", args->base, "Trace of the base prompt (.safetensors)")->required()->check(CLI::ExistingFile);
  cmd->add_option("var", args->var, "Trace of the variant prompt (.safetensors)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "Output directory (created; files appear only when all succeeded)")->required();
  cmd->add_option("--dist", args->dist,
                  "Distribution compared: full = softmax of all router logits, topk = renormalised top-k "
                  "gate weights, auto = full when both traces have logits")
      ->check(CLI::IsMember({"auto", "full", "topk"}))
      ->capture_default_str();
  cmd->add_option("--metric", args->metric, "Divergence: jsd (base 2), kl (base 2), tv, hellinger")
      ->check(CLI::IsMember({"jsd", "kl", "tv", "hellinger"}))
      ->capture_default_str();
  cmd->add_option("--topn", args->top_n, "Experts per layer in expert_shifts_per_layer_topN.csv")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_output_options(cmd, args->output);
  cmd->add_option("--threads", args->threads, "Worker threads (0 = all cores)")->capture_default_str();
  cmd->callback([args] {
    DiffOptions o;
    o.routing.dist = parse_dist_kind(args->dist);
    o.routing.metric = parse_divergence(args->metric);
    o.routing.threads = args->threads;
    o.routing.base_name = args->base;
    o.routing.var_name = args->var;
    o.top_n = args->top_n;
    o.plots = !args->output.no_plots;
    o.plot_formats = args->output.formats;
    o.plot_vmax = args->output.vmax;
    const RouterTrace base = load_trace(args->base);
    const RouterTrace var = load_trace(args->var);
    const auto files = write_diff(args->out, base, var, o);
    fmt::print("wrote {} files to {}: {}\n", files.size(), args->out, fmt::join(files, ", "));
  });
}

}  // namespace moeroute::cli
