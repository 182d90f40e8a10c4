#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "dataset_options.h"
#include "moeroute/trace_run.h"
#include "run_options.h"

namespace moeroute::cli {

void add_trace_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "trace", "Run a model over whole datasets (teacher-forced) and record every token's routing and every "
               "sample's loss as a sharded, resumable dataset trace");
  struct Args {
    TraceRunOptions options;
    std::vector<std::string> datasets;
    DatasetArgs dataset;
    std::string out, progress = "auto";
    bool quiet = false;
    std::shared_ptr<RunFlags> flags = std::make_shared<RunFlags>();
  };
  auto a = std::make_shared<Args>();
  auto& o = a->options;
  cmd->add_option("-d,--dataset", a->datasets,
                  "Dataset file, PATH or LABEL=PATH (label default: the file name), repeatable; JSON Lines, text or "
                  "CSV (docs/datasets.md)")
      ->required();
  cmd->add_option("-o,--out", a->out, "Dataset-trace directory (created; a run there with the same settings resumes)")
      ->required();
  cmd->add_option("--shard", o.shard,
                  "This process's part I/N of the dataset (default: RANK/WORLD_SIZE, else SLURM_PROCID/SLURM_NTASKS, "
                  "else 0/1)");
  cmd->add_option("--shard-size", o.shard_size, "Samples per shard file")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", o.batch_size, "Samples per forward pass (padded batches)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-tokens", o.max_tokens,
                  "Tokens kept per sample, its first ones (0 = the model's context, if it states one)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--strict", o.strict, "Refuse a sample longer than the model's context instead of cutting it");
  cmd->add_option("--progress", a->progress, "Progress on stderr: auto (a bar on a terminal, else lines), bar, lines, none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", a->quiet, "No summary on stdout");
  add_dataset_options(cmd, a->dataset);
  add_model_flags(cmd, a->flags);
  add_recording_flags(cmd, a->flags);
  add_chat_template_flag(cmd, a->flags);
  cmd->footer("Defaults: --model builtin:tiny-moe, --device-map cpu, every MoE layer, float32 router logits. "
              "Docs: docs/dataset-trace.md.");
  cmd->callback([a] {
    TraceRunOptions& opt = a->options;
    a->flags->apply(opt.run);
    opt.files = dataset_files(a->datasets);
    opt.dataset = dataset_options(a->dataset);
    opt.out = a->out;
    opt.progress = parse_trace_progress_mode(a->progress);
    const TraceRunResult r = trace_dataset(opt);
    if (a->quiet) return;
    fmt::print("traced {} samples ({} tokens, {:.0f} tokens/s); all {} shard{} of rank {}/{} written{}; index {}\n",
               r.samples, r.tokens, r.seconds > 0 ? static_cast<double>(r.tokens) / r.seconds : 0.0, r.shards,
               r.shards == 1 ? "" : "s", r.selection.rank, r.selection.world_size,
               r.shards_resumed > 0 ? fmt::format(" ({} kept from an earlier run)", r.shards_resumed) : "",
               r.index.string());
    if (r.selection.world_size > 1)
      fmt::print("when every rank is done: moeroute merge {}\n", r.index.parent_path().string());
  });
}

}  // namespace moeroute::cli
