#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "moeroute/gate_inputs.h"

namespace moeroute::cli {

namespace {
struct GateArgs {
  std::string file, out;
  bool json = false, csv = false, skip_bad_lines = false;
  std::vector<std::string> formats{"png"};
};
}  // namespace

void add_gate_inputs_command(CLI::App& app) {
  auto a = std::make_shared<GateArgs>();
  auto* cmd = app.add_subcommand("gate-inputs",
                                 "Distances between the gate inputs of consecutive MoE layers per generation step "
                                 "(llama.cpp gate_input log)");
  cmd->add_option("file", a->file, "gate_input log (or the whole llama.cpp log: other lines are skipped)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* json = cmd->add_flag("--json", a->json, "Print JSON (aggregates and per-step values) instead of the table");
  auto* csv = cmd->add_flag("--csv", a->csv, "Print the per-step CSV instead of the table");
  json->excludes(csv);
  cmd->add_option("-o,--out", a->out, "Also write gate_inputs.csv, gate_inputs.json and the plot into this directory");
  cmd->add_option("--format", a->formats, "Plot formats (with --out)")->check(CLI::IsMember({"png", "svg"}))->delimiter(',');
  cmd->add_flag("--skip-bad-lines", a->skip_bad_lines, "Skip malformed lines (counted) instead of stopping");
  cmd->callback([a] {
    GateInputReadOptions o;
    o.skip_bad_lines = a->skip_bad_lines;
    const GateInputAnalysis r = analyze_gate_inputs(a->file, o);
    const std::string text = a->json ? gate_inputs_json(r).dump(2) + "\n" : a->csv ? gate_inputs_csv(r) : gate_inputs_table(r);
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!a->out.empty()) {
      const auto files = write_gate_inputs(a->out, r, a->formats);
      fmt::print(stderr, "wrote {} files to {}: {}\n", files.size(), a->out, fmt::join(files, ", "));
    }
  });
}

}  // namespace moeroute::cli
