#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands.h"
#include "moeroute/dataset_trace.h"
#include "moeroute/error.h"

namespace moeroute::cli {

void add_merge_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "merge", "Merge the per-rank indexes of a dataset trace (from --shard I/N runs) into one trace.json");
  struct Args {
    std::vector<std::string> inputs;
    std::string out;
    bool no_verify = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("inputs", a->inputs,
                  "A directory holding trace-rank*-of-*.json files, or the rank indexes themselves")
      ->required();
  cmd->add_option("-o,--out", a->out, "The merged index (default: trace.json beside the rank indexes)");
  cmd->add_flag("--no-verify", a->no_verify, "Check shard sizes only, without hashing every shard");
  cmd->callback([a] {
    namespace fs = std::filesystem;
    std::vector<fs::path> indexes;
    fs::path out = a->out;
    for (const std::string& in : a->inputs) {
      if (fs::is_directory(in)) {
        const auto ranks = rank_indexes_in(in);
        if (ranks.empty()) throw InputError(fmt::format("{}: no trace-rank*-of-*.json indexes in this directory", in));
        indexes.insert(indexes.end(), ranks.begin(), ranks.end());
        if (out.empty()) out = fs::path(in) / "trace.json";
      } else {
        indexes.emplace_back(in);
        if (out.empty()) out = fs::path(in).parent_path() / "trace.json";
      }
    }
    MergeOptions o;
    o.verify_checksums = !a->no_verify;
    const DatasetTraceIndex merged = merge_dataset_traces(indexes, out, o);
    fmt::print("merged {} indexes: {} shard{}, {} samples → {}\n", indexes.size(), merged.shards.size(),
               merged.shards.size() == 1 ? "" : "s", merged.num_samples, out.string());
  });
}

}  // namespace moeroute::cli
