#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "import_options.h"
#include "moeroute/trace_export.h"

namespace moeroute::cli {

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "Export a trace or dataset trace: the seed pipeline's JSON, NumPy arrays or JSON Lines");
  struct Args {
    std::string input, out, format = "seed-json";
    ExportOptions options;
    bool no_logits = false, no_verify = false;
    ImportArgs import;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("trace", a->input,
                  "A trace file, a dataset trace (directory or trace.json) or a file of another system (docs/import.md)")
      ->required();
  cmd->add_option("-o,--out", a->out, "Output: a file (seed-json, jsonl) or a directory (npy)")->required();
  cmd->add_option("--format", a->format, "seed-json, npy or jsonl")
      ->check(CLI::IsMember({"seed-json", "npy", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("--strategy", a->options.strategy, "seed-json: the value of the 'strategy' field")->capture_default_str();
  cmd->add_option("--label", a->options.labels, "Only samples with this dataset label (repeatable)");
  cmd->add_flag("--no-logits", a->no_logits, "jsonl, npy: leave the router logits out");
  cmd->add_flag("--no-verify", a->no_verify, "Do not hash dataset-trace shards against their index");
  add_import_options(cmd, a->import, "--input-format");
  cmd->callback([a] {
    ExportOptions o = a->options;
    o.format = parse_export_format(a->format);
    o.logits = !a->no_logits;
    o.input.verify_checksums = !a->no_verify;
    o.input.import = import_options(a->import);
    const auto files = export_trace(a->input, a->out, o);
    fmt::print("wrote {}\n", fmt::join(files, ", "));
  });
}

}  // namespace moeroute::cli
