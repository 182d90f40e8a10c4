// Which files of a repository to fetch: include/exclude globs with huggingface_hub's semantics
// (fnmatch, case-sensitive, '*' also matches '/', a pattern ending in '/' means everything below
// it) and the files moeroute needs to run a model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace moeroute::detail {

bool glob_match(std::string_view pattern, std::string_view path);

/// `paths` matching any include pattern (all when there is none) and no exclude pattern.
std::vector<std::string> filter_paths(const std::vector<std::string>& paths, const std::vector<std::string>& include,
                                      const std::vector<std::string>& exclude);

/// The small files moeroute reads besides the weights: config.json, generation_config.json,
/// tokenizer.json, tokenizer_config.json, special_tokens_map.json, added_tokens.json,
/// chat_template.jinja, chat_template.json and model.safetensors.index.json — at the top level
/// only (a copy under original/ is another model).
bool is_model_metadata_file(std::string_view path);

inline constexpr std::string_view kSafetensorsIndex = "model.safetensors.index.json";
inline constexpr std::string_view kSafetensorsSingle = "model.safetensors";

/// The shard files a safetensors index names (weight_map values), sorted and unique. Throws
/// InputError naming `source` for a malformed index.
std::vector<std::string> index_shards(const std::string& text, const std::string& source);

}  // namespace moeroute::detail
