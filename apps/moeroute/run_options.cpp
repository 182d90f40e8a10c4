#include "run_options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "moeroute/error.h"
#include "moeroute/run_config.h"

namespace moeroute::cli {

namespace {

using Convert = nlohmann::json (*)(const std::string&);

nlohmann::json as_string(const std::string& text) { return text; }

// "auto", a device, or an explicit map written as a JSON object.
nlohmann::json device_map_value(const std::string& text) {
  if (!text.empty() && text.front() == '{') {
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error&) {
    }
  }
  return text;
}

// "1,2,3" → [1, 2, 3] (elements that are not numbers stay strings for the library to reject).
nlohmann::json number_list(const std::string& text) {
  nlohmann::json list = nlohmann::json::array();
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    list.push_back(number_or_string(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return list;
}

// One flag → one run field. Hidden aliases keep the old spellings working for one release.
void add(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags, const std::string& names, const std::string& field,
         Convert convert, const std::string& help, const std::string& alias = "") {
  auto store = [flags, field, convert, flag = names.substr(names.rfind(',') + 1)](const std::string& v) {
    flags->given.push_back({flag, {{field, convert(v)}}});
  };
  const char* type = convert == as_string ? "TEXT" : convert == number_list ? "N[,N…]" : convert == device_map_value ? "MAP" : "NUMBER";
  cmd->add_option_function<std::string>(names, store, help)->type_name(type);
  if (!alias.empty()) cmd->add_option_function<std::string>(alias, store, "")->group("");
}

// A repeatable flag whose values collect into one list field.
void add_list(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags, const std::string& name, const std::string& field,
              Convert convert, const std::string& help) {
  cmd->add_option_function<std::vector<std::string>>(
      name,
      [flags, field, name, convert](const std::vector<std::string>& values) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& v : values) list.push_back(convert(v));
        flags->given.push_back({name, {{field, list}}});
      },
      help);
}

}  // namespace

nlohmann::json number_or_string(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.is_number()) return j;
  } catch (const nlohmann::json::parse_error&) {
  }
  return text;
}

namespace {

// Seconds between progress lines: 5 (a line every 5 s, not a flood), or MOEROUTE_PROGRESS_SECONDS.
double progress_interval() {
  const char* env = std::getenv("MOEROUTE_PROGRESS_SECONDS");
  if (env == nullptr || *env == '\0') return 5.0;
  char* end = nullptr;
  const double v = std::strtod(env, &end);
  if (*end != '\0' || !std::isfinite(v) || v < 0)
    throw InputError(fmt::format("MOEROUTE_PROGRESS_SECONDS = '{}': expected a number of seconds ≥ 0", env));
  return v;
}

}  // namespace

void report_on_stderr(GenerateOptions& generation) {
  generation.warn = [](const std::string& w) { fmt::print(stderr, "moeroute: warning: {}\n", w); };
  auto last = std::make_shared<double>(0.0);
  generation.progress = [last, interval = progress_interval()](const GenerateProgress& p) {
    if (p.seconds - *last < interval) return;
    *last = p.seconds;
    fmt::print(stderr, "moeroute: generating: {} of at most {} tokens, {:.1f} tokens/s, {:.0f} s\n", p.generated,
               p.limit, static_cast<double>(p.generated) / p.seconds, p.seconds);
  };
}

void RunFlags::apply(RunConfig& config) const {
  for (const auto& [flag, fields] : given) apply_run_fields(config, fields, "option " + flag);
}

void add_model_flags(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags) {
  add(cmd, flags, "-m,--model", "model_id", as_string,
      "builtin:NAME, a Hugging Face checkpoint directory (qwen3_moe, gpt_oss) or a TorchScript export (.pt)");
  add(cmd, flags, "--device-map", "device_map", device_map_value,
      "Where the model runs: cpu, cuda, cuda:N, auto (native models: layers over every GPU; the CPU without one) or "
      "a JSON map of module prefixes to devices",
      "--device");
  add(cmd, flags, "--dtype", "dtype", as_string, "auto, float32 (f32), bfloat16 (bf16), float16 (f16)");
  add(cmd, flags, "--weight-dtype", "weight_dtype", as_string,
      "Native models, float32 on the CPU: weight-matrix storage auto, float32, bfloat16, float16 (16-bit halves "
      "memory and bytes read; auto keeps a 16-bit checkpoint as stored)");
  add(cmd, flags, "--experts", "experts", as_string, "Native models: experts implementation auto, loop, gather, grouped");
  add(cmd, flags, "--threads", "threads", number_or_string, "CPU threads for the model (and the diff); 0 = all cores");
  cmd->add_flag_callback(
      "--no-cuda-graphs", [flags] { flags->given.push_back({"--no-cuda-graphs", {{"cuda_graphs", false}}}); },
      "Native models on CUDA: run every decode step op by op instead of replaying a captured CUDA graph");
  add(cmd, flags, "--gpu-memory", "gpu_memory", number_list, "device_map auto: usable bytes per GPU, comma-separated");
  add(cmd, flags, "--routing-rule", "routing_rule", as_string,
      "TorchScript exports: routing rule, e.g. 'qwen3_moe(k=8)' (default: from the sidecar or config.json)");
  add_list(cmd, flags, "--gate-pattern", "gate_patterns", as_string,
           "TorchScript exports: router module-path glob, repeatable (default: transformers' names)");
}

void add_generation_flags(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags) {
  add(cmd, flags, "--max-new-tokens", "max_new_tokens", number_or_string, "Tokens generated at most");
  add(cmd, flags, "--temperature", "temperature", number_or_string, "0 = greedy; > 0 samples");
  add(cmd, flags, "--top-p", "top_p", number_or_string, "Nucleus sampling mass in (0, 1]");
  add(cmd, flags, "--seed", "seed", number_or_string, "Sampling seed, 0 … 2^64−1");
  add_list(cmd, flags, "--stop-token", "stop_token_ids", number_or_string,
           "Extra token id that ends generation, repeatable");
  cmd->add_flag_callback(
      "--strict", [flags] { flags->given.push_back({"--strict", {{"strict_context", true}}}); },
      "Refuse a prompt + --max-new-tokens longer than the model's context (default: a warning)");
}

void add_recording_flags(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags) {
  add(cmd, flags, "--top-k", "topk", number_or_string, "Experts recorded per token (default: the model's own k)",
      "--topk");
  add(cmd, flags, "--layers", "layers", number_list, "Numeric layer indices to record, comma-separated (default: all)");
  cmd->add_flag_callback(
      "--no-logits", [flags] { flags->given.push_back({"--no-logits", {{"keep_logits", false}}}); },
      "Keep only top-k ids and gate weights, not the router logits");
  add(cmd, flags, "--logits-dtype", "logits_dtype", as_string, "Stored router-logits precision: f32, f16, bf16");
}

void add_chat_template_flag(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags) {
  add(cmd, flags, "--chat-template", "chat_template", as_string,
      "Chat template: raw, chatml, qwen3, qwen3-nothink, gpt-oss or a template file (default: the model's own)",
      "--template");
  add(cmd, flags, "--date", "date", as_string,
      "gpt-oss template: the 'Current date:' it writes, YYYY-MM-DD (default: today's local date, recorded)");
}

}  // namespace moeroute::cli
