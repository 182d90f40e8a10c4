#include <CLI/CLI.hpp>

#include "commands.h"

namespace moeroute::cli {

void add_diff_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("diff", "Compare two recorded traces: JSD per layer and step, expert shifts, plots");
  (void)cmd;
}

}  // namespace moeroute::cli
