#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "moeroute/compare.h"
#include "output_options.h"
#include "run_options.h"

namespace moeroute::cli {

namespace {
struct CompareArgs {
  std::string input, out;
  OutputArgs output;
  // Run flags and compare's own flags, applied over input.json in command-line order.
  std::shared_ptr<RunFlags> flags = std::make_shared<RunFlags>();
};

// A compare flag that, when given, overrides the input.json field of the same meaning.
void compare_flag(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags, const std::string& flag,
                  const std::string& field, bool numeric, const std::string& help) {
  cmd->add_option_function<std::string>(
      flag,
      [flags, flag, field, numeric](const std::string& v) {
        flags->given.push_back({flag, {{field, numeric ? number_or_string(v) : nlohmann::json(v)}}});
      },
      help + " (overrides input.json '" + field + "')");
}
}  // namespace

void add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Run one question under a base and a variant system prompt, record both runs' routing and write where and "
      "how much it changed (docs/compare.md)");
  cmd->add_option("input", args->input, "input.json (fields: docs/compare.md)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "Output directory (files appear only when all succeeded)")->required();
  add_model_flags(cmd, args->flags);
  add_generation_flags(cmd, args->flags);
  add_recording_flags(cmd, args->flags);
  add_chat_template_flag(cmd, args->flags);
  compare_flag(cmd, args->flags, "--topn", "topn_per_layer", true, "Experts per layer in the shift ranking");
  compare_flag(cmd, args->flags, "--align", "align", false, "teacher-forced or free");
  compare_flag(cmd, args->flags, "--dist", "dist", false, "auto, full or topk");
  compare_flag(cmd, args->flags, "--language", "language", false, "Answer language");
  add_output_options(cmd, args->output);
  cmd->footer("Model, generation and recording flags override the input.json fields of the same meaning.");
  cmd->callback([args] {
    CompareInput in = load_compare_input(args->input);
    for (const auto& [flag, fields] : args->flags->given) apply_compare_overrides(in, fields, "option " + flag);
    for (const auto& w : in.warnings) fmt::print(stderr, "moeroute: warning: {}\n", w);
    report_on_stderr(in.run.generation);
    CompareRunOptions o;
    o.plots = !args->output.no_plots;
    o.plot_formats = args->output.formats;
    o.plot_vmax = args->output.vmax;
    const CompareResult r = run_compare(in, args->out, o);
    const auto& d = r.diff;
    fmt::print("{} aligned steps ({}), template {}; mean {} {:.4g}, {} (mean {:.3g}, {}); top-k flip rate {:.4f}\n",
               d.alignment.steps, to_string(in.align), r.chat_template, to_string(d.metric),
               summarize_divergence(d.divergence).mean, r.floor_verdict, r.noise_floor.mean,
               "two computation paths of the base run", r.agreement.flip_rate);
    fmt::print("wrote {} files to {}: {}\n", r.files.size(), args->out, fmt::join(r.files, ", "));
  });
}

}  // namespace moeroute::cli
