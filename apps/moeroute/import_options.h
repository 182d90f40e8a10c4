// Import options shared by the commands that read foreign routing files (import, diff, stats,
// export): --format, --num-experts, --skip-bad-lines, --layer-map, --top-k, --num-layers.
#pragma once

#include <string>

#include "moeroute/import.h"

namespace CLI {
class App;
}

namespace moeroute::cli {

struct ImportArgs {
  std::string format = "auto";
  int num_experts = 0;
  bool skip_bad_lines = false;
  std::string layer_map;
  int top_k = 0;
  int num_layers = 0;
};

/// Adds the import options to `cmd`, stored into `args`. `format_flag` names the format option
/// ("--input-format" where --format already means plot formats).
void add_import_options(CLI::App* cmd, ImportArgs& args, const std::string& format_flag = "--format");
/// The library options the arguments mean (parses --format and --layer-map).
ImportOptions import_options(const ImportArgs& args);

}  // namespace moeroute::cli
