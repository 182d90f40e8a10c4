#include "output_options.h"

#include <CLI/CLI.hpp>

namespace moeroute::cli {

void add_output_options(CLI::App* cmd, OutputArgs& args) {
  cmd->add_option("--format", args.formats, "Plot formats")->check(CLI::IsMember({"png", "svg"}))->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--vmax", args.vmax,
                  "Top of the heatmap colour scale (default 0 = the metric's full range, [0, 1] for JSD; "
                  "a smaller value shows small divergences)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--no-plots", args.no_plots, "Write only the data outputs, no plots");
}

}  // namespace moeroute::cli
