#include "import_options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli_checks.h"

namespace moeroute::cli {

void add_import_options(CLI::App* cmd, ImportArgs& a, const std::string& format_flag) {
  cmd->add_option(format_flag, a.format,
                  fmt::format("Input format: {} (auto = detected from the file's first bytes; docs/import.md)",
                              fmt::join(import_format_names(), ", ")))
      ->check(CLI::IsMember(import_format_names()))
      ->capture_default_str();
  cmd->add_option("--num-experts", a.num_experts,
                  "Experts per MoE layer; ids must be below it (default: recorded by the source, else the largest id "
                  "+ 1, reported)")
      ->check(positive_number());
  cmd->add_flag("--skip-bad-lines", a.skip_bad_lines, "Skip malformed lines/records (counted and reported) instead of "
                                                      "stopping at the first");
  cmd->add_option("--layer-map", a.layer_map,
                  "Model layer of each source layer in order, e.g. 3-60 or 1,3,5: for sources that number MoE layers "
                  "(vLLM ≤ 0.2x) or pipeline-local layers (Megatron)");
  cmd->add_option("--top-k", a.top_k, "Experts per token, for sources that store no shape (SGLang routed_experts)")
      ->check(positive_number());
  cmd->add_option("--num-layers", a.num_layers,
                  "Layers per token, for sources that store no shape (SGLang routed_experts: num_hidden_layers)")
      ->check(positive_number());
}

ImportOptions import_options(const ImportArgs& a) {
  ImportOptions o;
  o.format = parse_import_format(a.format);
  o.num_experts = a.num_experts;
  o.skip_bad_lines = a.skip_bad_lines;
  if (!a.layer_map.empty()) o.layer_map = parse_layer_map(a.layer_map);
  o.top_k = a.top_k;
  o.num_layers = a.num_layers;
  return o;
}

}  // namespace moeroute::cli
