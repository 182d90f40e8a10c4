// input.json of `moeroute compare`: the seed tool's fields plus ours (docs/compare.md). The model,
// generation and recording fields are the run fields every job shares (moeroute/run_config.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/generate.h"
#include "moeroute/routing_diff.h"
#include "moeroute/run_config.h"

namespace moeroute {

struct CompareInput {
  // The seed tool's fields (besides the run fields model_id, device_map, max_new_tokens,
  // temperature and topk, which live in `run`).
  std::string prompt_base;  ///< system prompt of the base run (required)
  std::string prompt_var;   ///< system prompt of the variant run (required)
  std::string question;     ///< user message asked under both (required)
  std::string language;     ///< answer language, passed to the prompt ("" = say nothing)
  int topn_per_layer = 10;  ///< experts per layer in the shift ranking
  // Ours.
  RunConfig run = default_run();                          ///< model, options, generation, recording, template
  PairAlignment align = PairAlignment::TeacherForced;     ///< "align": teacher-forced or free (docs/metrics.md)
  DistKind dist = DistKind::Auto;                         ///< "dist": auto, full or topk

  std::vector<std::string> warnings;  ///< e.g. unknown fields; the caller shows them

  /// compare's defaults: the seed's 128 new tokens, logits kept.
  static RunConfig default_run();
};

/// Parses input.json text. `source` names the file in messages. Throws InputError with
/// "file:line:column" for invalid JSON and for wrong fields (the field name and what was
/// expected); unknown fields become warnings.
CompareInput parse_compare_input(const std::string& text, const std::string& source = "input.json");

/// Reads and parses a file (errors name it).
CompareInput load_compare_input(const std::filesystem::path& path);

/// Applies `overrides` (an object of the same fields, e.g. from CLI flags) on top of `in`,
/// with the same validation; a model_id there names the model even when the file used model_path.
void apply_compare_overrides(CompareInput& in, const nlohmann::json& overrides, const std::string& source);

}  // namespace moeroute
