#include "output_options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>

namespace moeroute::cli {

void add_output_options(CLI::App* cmd, OutputArgs& args) {
  cmd->add_option("--format", args.formats, "Plot formats")->check(CLI::IsMember({"png", "svg"}))->delimiter(',')
      ->capture_default_str();
  cmd->add_option_function<double>(
         "--vmax",
         [&args](double v) {
           if (!(std::isfinite(v) && v > 0))
             throw CLI::ValidationError("--vmax", fmt::format("expected a positive finite number, got {}", v));
           args.vmax = v;
         },
         "Fixed top of the heatmap colour scale, to compare runs on one scale (default: the data's largest value, "
         "written on the colour bar)")
      ->type_name("NUMBER");
  cmd->add_flag("--no-plots", args.no_plots, "Write only the data outputs, no plots");
}

}  // namespace moeroute::cli
