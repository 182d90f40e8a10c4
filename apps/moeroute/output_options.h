// Output options shared by the commands that write a diff (diff, compare).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace moeroute::cli {

struct OutputArgs {
  std::vector<std::string> formats{"png"};  // plot formats
  std::optional<double> vmax;               // heatmap colour-scale top; unset = the data's largest value
  bool no_plots = false;
};

/// Adds --format, --vmax and --no-plots, stored into `args`.
void add_output_options(CLI::App* cmd, OutputArgs& args);

}  // namespace moeroute::cli
