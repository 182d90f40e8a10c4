// The configuration every job that runs a model shares — which model, how it is loaded, how it
// generates, what is recorded, which chat template — and its one parser. input.json fields and
// the CLI's shared option group (docs/cli.md, "Model and generation options") both go through
// apply_run_fields, so a value is spelled, validated and parsed into its type in one place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/causal_lm.h"
#include "moeroute/generate.h"

namespace moeroute {

struct RunConfig {
  std::string model = "builtin:tiny-moe";  ///< what load_model() loads (input.json: model_id, or model_path which wins)
  ModelOptions model_options;              ///< device_map, dtype, experts, threads, gate patterns, routing rule
  GenerateOptions generation;              ///< max_new_tokens, sampling (temperature, top_p, seed), stop tokens
  RecorderOptions recording;               ///< layers, logits kept and their dtype, top_k
  std::string chat_template;               ///< built-in name or template file; "" = the model's own
  std::string date;                        ///< gpt-oss template's "Current date:" (YYYY-MM-DD); "" = today's local date
};

/// Text prompts (and input.json files) longer than this are refused before the model loads:
/// 16 MiB is millions of tokens, beyond any model's context, while a byte-level tokenizer would
/// turn a 150 MB prompt into gigabytes of activations.
inline constexpr std::uint64_t kMaxPromptBytes = std::uint64_t{16} << 20;
/// Throws InputError naming `what` when `text` is longer than kMaxPromptBytes.
void check_prompt_size(const std::string& text, const std::string& what);

/// The field names apply_run_fields knows, as input.json spells them: model_id, model_path,
/// device_map, dtype, experts, threads, gpu_memory, routing_rule, gate_patterns, max_new_tokens,
/// temperature, top_p, seed, stop_token_ids, strict_context, topk, layers, keep_logits,
/// logits_dtype, chat_template, date (docs/compare.md lists types and ranges).
const std::vector<std::string>& run_field_names();

/// Applies the members of the JSON object `fields` that are run fields to `config` and returns
/// the names of the others (for the caller's own fields or warnings). When both model_id and
/// model_path are given, model_path wins. Throws InputError "<source>: field '<name>': …" for
/// a wrong type or value.
std::vector<std::string> apply_run_fields(RunConfig& config, const nlohmann::json& fields, const std::string& source);

}  // namespace moeroute
