#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "moeroute/record.h"
#include "run_options.h"

namespace moeroute::cli {

namespace {
struct RecordArgs {
  RecordOptions options;
  std::string out;
  std::shared_ptr<RunFlags> flags = std::make_shared<RunFlags>();
};
}  // namespace

void add_record_command(CLI::App& app) {
  auto args = std::make_shared<RecordArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand("record", "Run a model on one prompt and record its MoE routing into a trace file");
  auto* prompt = cmd->add_option("-p,--prompt", o.prompt, "Prompt text (the user message of the chat template)");
  auto* input = cmd->add_option("-i,--input", o.prompt_file, "Read the prompt from FILE ('-' = stdin)");
  prompt->excludes(input);
  cmd->add_option("--system", o.system, "System prompt (default: none)");
  cmd->add_option("-o,--out", args->out, "Trace file to write (.safetensors; docs/trace-format.md)")->required();
  add_model_flags(cmd, args->flags);
  add_generation_flags(cmd, args->flags);
  add_recording_flags(cmd, args->flags);
  add_chat_template_flag(cmd, args->flags);
  cmd->footer("Defaults: --model builtin:tiny-moe, --device-map cpu, --max-new-tokens 64, greedy.");
  cmd->callback([args] {
    auto& opt = args->options;
    args->flags->apply(opt.run);
    report_on_stderr(opt.run.generation);
    if (opt.prompt.empty() && opt.prompt_file.empty()) throw CLI::RequiredError("--prompt or --input");
    const auto t = record_to_file(opt, args->out);
    fmt::print("wrote {}: {} layers × {} positions ({} prompt + {} generated, {})\n", args->out, t.num_layers(),
               t.num_positions, t.prompt_length, t.generated_length(), t.meta.extra.at("stop_reason"));
  });
}

}  // namespace moeroute::cli
