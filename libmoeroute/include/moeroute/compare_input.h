// input.json of `moeroute compare`: the seed tool's fields plus ours (docs/compare.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moeroute {

struct CompareInput {
  // The seed tool's fields.
  std::string prompt_base;         ///< system prompt of the base run (required)
  std::string prompt_var;          ///< system prompt of the variant run (required)
  std::string question;            ///< user message asked under both (required)
  std::string language;            ///< answer language, passed to the prompt ("" = say nothing)
  int max_new_tokens = 128;        ///< tokens generated per run
  double temperature = 0.0;        ///< 0 = greedy; > 0 samples (with top_p and seed)
  std::optional<int> topk;         ///< experts recorded per token; default: the model's own top-k
  std::string model_id;            ///< hub id, checkpoint directory, .pt export or builtin:… name
  std::string device_map = "cpu";  ///< "cpu", "cuda", "cuda:N" or "auto"
  int topn_per_layer = 10;         ///< experts per layer in the shift ranking
  // Ours.
  std::string model_path;          ///< local model path; wins over model_id when both are given
  std::string align = "teacher-forced";  ///< "teacher-forced" or "free" (docs/metrics.md)
  std::string dist = "auto";       ///< "auto", "full" or "topk"
  uint64_t seed = 0;               ///< sampling seed
  double top_p = 1.0;              ///< nucleus sampling mass when temperature > 0
  std::string chat_template;       ///< template name or file; "" = the model's default

  std::vector<std::string> warnings;  ///< e.g. unknown fields; the caller shows them
};

/// Parses input.json text. `source` names the file in messages. Throws InputError with
/// "file:line:column" for invalid JSON, the field name and expected type for wrong fields,
/// and for values out of range; unknown fields become warnings.
CompareInput parse_compare_input(const std::string& text, const std::string& source = "input.json");

/// Reads and parses a file (IoError/InputError name it).
CompareInput load_compare_input(const std::filesystem::path& path);

/// Applies `overrides` (an object of the same fields, e.g. from CLI flags) on top of `in`,
/// with the same validation.
void apply_compare_overrides(CompareInput& in, const nlohmann::json& overrides, const std::string& source);

}  // namespace moeroute
