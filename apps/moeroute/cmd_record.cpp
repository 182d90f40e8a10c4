#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "moeroute/record.h"

namespace moeroute::cli {

namespace {
struct RecordArgs {
  RecordOptions options;
  std::string out;
  std::string logits_dtype = "f32";
  bool no_logits = false;
};
}  // namespace

void add_record_command(CLI::App& app) {
  auto args = std::make_shared<RecordArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand("record", "Run a model on one prompt and record its MoE routing into a trace file");
  cmd->add_option("-m,--model", o.model,
                  "builtin:NAME, a Hugging Face checkpoint directory (qwen3_moe, gpt_oss) or a TorchScript export (.pt)")
      ->capture_default_str();
  auto* prompt = cmd->add_option("-p,--prompt", o.prompt, "Prompt text (tokenized as is, no chat template)");
  auto* input = cmd->add_option("-i,--input", o.prompt_file, "Read the prompt from FILE ('-' = stdin)");
  prompt->excludes(input);
  cmd->add_option("-o,--out", args->out, "Trace file to write (.safetensors; docs/trace-format.md)")->required();
  cmd->add_option("--max-new-tokens", o.generation.max_new_tokens, "Tokens to generate at most")->capture_default_str();
  cmd->add_option("--temperature", o.generation.sampling.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-p", o.generation.sampling.top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--seed", o.generation.sampling.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--device", o.model_options.device, "cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_option("--dtype", o.model_options.dtype, "auto, float32 (f32), bfloat16 (bf16), float16 (f16)")
      ->capture_default_str();
  cmd->add_option("--device-map", o.model_options.device_map,
                  "Checkpoint directories: 'auto' places layers over all CUDA devices");
  cmd->add_option("--experts", o.model_options.experts,
                  "Checkpoint directories: experts implementation auto, loop, gather, grouped")
      ->capture_default_str();
  cmd->add_option("--layers", o.recording.layers, "Numeric layer indices to record (default: all)")->delimiter(',');
  cmd->add_flag("--no-logits", args->no_logits, "Keep only top-k ids and gate weights, not the router logits");
  cmd->add_option("--logits-dtype", args->logits_dtype, "Stored logits precision")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--top-k", o.recording.top_k, "Experts recorded per token (0 = the model's own k)")
      ->capture_default_str();
  cmd->add_option("--routing-rule", o.model_options.routing_rule,
                  "Routing rule when the export has no config.json, e.g. 'qwen3_moe(k=8)' (docs/recording.md)");
  cmd->add_option("--gate-pattern", o.model_options.gate_patterns,
                  "Router module-path glob, repeatable (default: transformers' names)");
  cmd->callback([args] {
    auto& opt = args->options;
    opt.recording.keep_logits = !args->no_logits;
    opt.recording.logits_dtype = args->logits_dtype == "f16"    ? LogitsDtype::F16
                                 : args->logits_dtype == "bf16" ? LogitsDtype::BF16
                                                                : LogitsDtype::F32;
    if (opt.prompt.empty() && opt.prompt_file.empty()) throw CLI::RequiredError("--prompt or --input");
    const auto t = record_to_file(opt, args->out);
    fmt::print("wrote {}: {} layers × {} positions ({} prompt + {} generated, {})\n", args->out, t.num_layers(),
               t.num_positions, t.prompt_length, t.generated_length(), t.meta.extra.at("stop_reason"));
  });
}

}  // namespace moeroute::cli
