#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "cli_checks.h"
#include "commands.h"
#include "import_options.h"
#include "output_options.h"
#include "moeroute/diff.h"
#include "moeroute/import.h"

namespace moeroute::cli {

namespace {
struct DiffArgs {
  std::string base, var, out;
  std::string dist = "auto", metric = "jsd", align = "auto";
  int top_n = 10;
  int threads = 0;
  bool no_token_check = false;
  bool force = false;
  int64_t max_matrix_steps = 20000;
  OutputArgs output;
  ImportArgs import;
};
}  // namespace

void add_diff_command(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = app.add_subcommand(
      "diff", "Compare two routings: top-k agreement (overlap, flips) and divergence per layer and step, expert "
              "shifts, plots");
  cmd->add_option("base", args->base, "Base trace (.safetensors), or any file moeroute import reads")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("var", args->var, "Variant trace, or any importable file")->required()->check(CLI::ExistingFile);
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
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--align", args->align,
                  "How rows pair: steps = generation step s of each run (base vs variant prompt), tokens = the same "
                  "(sequence, position) with token ids checked (one text routed by two systems), auto = tokens when "
                  "either trace holds several sequences")
      ->check(CLI::IsMember({"auto", "steps", "tokens"}))
      ->capture_default_str();
  cmd->add_flag("--no-token-check", args->no_token_check,
                "With --align tokens: pair rows by position without comparing token ids (traces without token ids)");
  cmd->add_option("--max-matrix-steps", args->max_matrix_steps,
                  "Write topk_jaccard.csv and its heatmap only up to this many aligned steps")
      ->check(non_negative_number())
      ->capture_default_str();
  cmd->add_flag("--force", args->force,
                "Compare traces recorded from different models (their model_id differs) anyway");
  add_output_options(cmd, args->output);
  cmd->add_option("--threads", args->threads, "Worker threads (0 = all cores)")->capture_default_str();
  add_import_options(cmd, args->import, "--input-format");
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
    o.align = parse_diff_align(args->align);
    o.check_tokens = !args->no_token_check;
    o.max_matrix_steps = args->max_matrix_steps;
    o.force = args->force;
    const ImportOptions io = import_options(args->import);
    const RouterTrace base = read_trace(args->base, io);
    const RouterTrace var = read_trace(args->var, io);
    const DiffResult r = run_diff(args->out, base, var, o);
    const TopkAgreement& a = r.agreement;
    fmt::print("{} aligned {} over {} layers: flip rate {:.4f}, mean top-k Jaccard {:.4f}, {} of {} steps with a flip\n",
               a.steps, to_string(r.align), a.layers.size(), a.flip_rate, a.mean_jaccard, a.steps_with_flip, a.steps);
    if (!r.divergence_skipped.empty()) fmt::print("divergence skipped: {}\n", r.divergence_skipped);
    fmt::print("wrote {} files to {}: {}\n", r.files.size(), args->out, fmt::join(r.files, ", "));
  });
}

}  // namespace moeroute::cli
