#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "output_options.h"
#include "moeroute/compare.h"

namespace moeroute::cli {

namespace {
struct CompareArgs {
  std::string input, out;
  std::string logits_dtype = "f32";
  OutputArgs output;
  nlohmann::json overrides = nlohmann::json::object();
};

// A flag that, when given, overrides the input.json field of the same name.
template <typename T>
void override_option(CLI::App* cmd, const std::shared_ptr<CompareArgs>& args, const std::string& flag,
                     const std::string& field, const std::string& help) {
  cmd->add_option_function<T>(
      flag, [args, field](const T& v) { args->overrides[field] = v; }, help + " (overrides input.json '" + field + "')");
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
  override_option<std::string>(cmd, args, "--model", "model_id", "builtin:NAME, a Hugging Face checkpoint directory (qwen3_moe, gpt_oss) or a TorchScript export");
  override_option<int>(cmd, args, "--max-new-tokens", "max_new_tokens", "Tokens generated");
  override_option<double>(cmd, args, "--temperature", "temperature", "0 = greedy");
  override_option<double>(cmd, args, "--top-p", "top_p", "Nucleus sampling mass");
  override_option<int64_t>(cmd, args, "--seed", "seed", "Sampling seed");
  override_option<int>(cmd, args, "--topk", "topk", "Experts recorded per token");
  override_option<int>(cmd, args, "--topn", "topn_per_layer", "Experts per layer in the shift ranking");
  override_option<std::string>(cmd, args, "--align", "align", "teacher-forced or free");
  override_option<std::string>(cmd, args, "--dist", "dist", "auto, full or topk");
  override_option<std::string>(cmd, args, "--device", "device_map", "cpu, cuda, cuda:N or auto");
  override_option<std::string>(cmd, args, "--chat-template", "chat_template", "Template name or file");
  override_option<std::string>(cmd, args, "--language", "language", "Answer language");
  add_output_options(cmd, args->output);
  cmd->add_option("--logits-dtype", args->logits_dtype, "Precision of the logits in the saved traces")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd->callback([args] {
    CompareInput in = load_compare_input(args->input);
    // A --model flag names the model outright, whichever of model_id/model_path the file used.
    if (args->overrides.contains("model_id")) in.model_path.clear();
    apply_compare_overrides(in, args->overrides, "command line");
    for (const auto& w : in.warnings) fmt::print(stderr, "moeroute: warning: {}\n", w);
    CompareRunOptions o;
    o.plots = !args->output.no_plots;
    o.plot_formats = args->output.formats;
    o.plot_vmax = args->output.vmax;
    o.threads = args->output.threads;
    o.logits_dtype = parse_logits_dtype(args->logits_dtype);
    const CompareResult r = run_compare(in, args->out, o);
    const auto& d = r.diff;
    double total = 0;
    for (double v : d.divergence) total += v;
    fmt::print("{} aligned steps ({}), template {}; mean {} {:.4f}\n", d.alignment.steps, in.align, r.chat_template,
               to_string(d.metric), d.divergence.empty() ? 0.0 : total / static_cast<double>(d.divergence.size()));
    fmt::print("wrote {} files to {}: {}\n", r.files.size(), args->out, fmt::join(r.files, ", "));
  });
}

}  // namespace moeroute::cli
