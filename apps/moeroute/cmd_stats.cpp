#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "cli_checks.h"
#include "commands.h"
#include "import_options.h"
#include "moeroute/stats_output.h"
#include "moeroute/stats_run.h"

namespace moeroute::cli {

void add_stats_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "stats", "Routing statistics over traces and dataset traces: utilisation, entropy, load balance, "
               "co-activation, specialisation, per sample and dataset");
  struct Args {
    std::vector<std::string> inputs;
    std::string out, save_state, segment = "all", against;
    bool json = false, quiet = false, no_tokens = false, no_verify = false, no_token_check = false;
    ImportArgs import;
    int64_t token_table_mb = 1024;
    StatsOptions stats;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("inputs", a->inputs,
                  "Trace files (.safetensors), dataset traces (a directory or an index: trace.json, a rank index, a merged index), files of other systems "
                  "(llama.cpp logs, vLLM, SGLang, Megatron-Core: docs/import.md) and saved stats states "
                  "(--save-state), all of one model")
      ->required();
  cmd->add_option("--against", a->against,
                  "Another trace of the same tokens (another checkpoint, dtype or system): top-k overlap, flip rate "
                  "and expert-distribution divergence per layer");
  cmd->add_flag("--no-token-check", a->no_token_check,
                "With --against: pair rows by sequence and position without comparing token ids");
  add_import_options(cmd, a->import, "--input-format");
  cmd->add_option("-o,--out", a->out, "Write stats.json and the CSV files to this directory");
  cmd->add_option("--save-state", a->save_state, "Save the accumulated state, to merge with others later");
  cmd->add_flag("--json", a->json, "Print stats.json instead of the table");
  cmd->add_flag("-q,--quiet", a->quiet, "Print nothing");
  cmd->add_option("--segment", a->segment, "Rows counted: all, prompt or generated")
      ->check(CLI::IsMember({"all", "prompt", "generated"}))
      ->capture_default_str();
  cmd->add_option("--capacity-group", a->stats.capacity_group,
                  "Tokens per capacity group for the overflow measure (0 = each sequence is a group)")
      ->check(non_negative_number())
      ->capture_default_str();
  cmd->add_option("--capacity-factors", a->stats.capacity_factors, "Capacity factors whose overflow is measured")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--position-window", a->stats.position_window, "Positions per window of the usage-over-position table")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--entropy-bins", a->stats.entropy_bins, "Bins of the entropy histograms")
      ->check(number_in(1, 10000))
      ->capture_default_str();
  cmd->add_option("--rare-ratio", a->stats.rare_ratio, "Rare expert: utilisation below this × uniform")->capture_default_str();
  cmd->add_option("--dominant-ratio", a->stats.dominant_ratio, "Dominant expert: utilisation above this × uniform")
      ->capture_default_str();
  cmd->add_flag("--no-tokens", a->no_tokens, "Skip the token → expert table");
  cmd->add_option("--token-layers", a->stats.token_layers,
                  "Layer positions (0-based, row order) with a token → expert table (default: all)")
      ->delimiter(',');
  cmd->add_option("--max-token-table-mb", a->token_table_mb, "Drop the token → expert table beyond this size")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--top-n", a->stats.top_n, "Experts, tokens and pairs listed per layer")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--min-token-count", a->stats.min_token_count, "Occurrences a token needs to rank as specialised")
      ->check(non_negative_number())
      ->capture_default_str();
  cmd->add_flag("--no-verify", a->no_verify, "Do not hash dataset-trace shards against their index");
  cmd->callback([a] {
    StatsRunOptions o;
    o.stats = a->stats;
    o.stats.segment = parse_segment_filter(a->segment);
    o.stats.tokens = !a->no_tokens;
    o.stats.max_token_table_bytes = static_cast<uint64_t>(a->token_table_mb) << 20;
    o.out = a->out;
    o.save_state = a->save_state;
    o.input.verify_checksums = !a->no_verify;
    o.input.import = import_options(a->import);
    o.against = a->against;
    o.check_tokens = !a->no_token_check;
    std::vector<std::filesystem::path> inputs(a->inputs.begin(), a->inputs.end());
    const StatsRunResult r = run_stats(inputs, o);
    if (a->quiet) return;
    const std::string text = a->json ? stats_json(r.report) : stats_table(r.report);
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!r.files.empty() && !a->json) fmt::print("wrote {} files to {}\n", r.files.size(), a->out);
  });
}

}  // namespace moeroute::cli
