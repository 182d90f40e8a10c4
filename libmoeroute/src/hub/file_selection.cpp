#include "hub/file_selection.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <set>

#include "hub/cache_layout.h"
#include "io/json_input.h"

namespace moeroute::detail {

namespace {

std::string normalized(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\\', '/');
  return out;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  std::string p = normalized(pattern);
  if (!p.empty() && p.back() == '/') p += '*';
  // No FNM_PATHNAME ('*' crosses '/') and no escapes, as Python's fnmatchcase.
  return ::fnmatch(p.c_str(), normalized(path).c_str(), FNM_NOESCAPE) == 0;
}

std::vector<std::string> filter_paths(const std::vector<std::string>& paths, const std::vector<std::string>& include,
                                      const std::vector<std::string>& exclude) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    const auto matches = [&](const std::string& pattern) { return glob_match(pattern, path); };
    if (!include.empty() && std::none_of(include.begin(), include.end(), matches)) continue;
    if (std::any_of(exclude.begin(), exclude.end(), matches)) continue;
    out.push_back(path);
  }
  return out;
}

bool is_model_metadata_file(std::string_view path) {
  static constexpr std::array<std::string_view, 9> kFiles = {
      "config.json",        "generation_config.json", "tokenizer.json",      "tokenizer_config.json",
      "special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json",
      kSafetensorsIndex};
  return std::find(kFiles.begin(), kFiles.end(), path) != kFiles.end();
}

std::vector<std::string> index_shards(const std::string& text, const std::string& source) {
  const JsonField root = parse_json(text, source);
  root.expect_object("a safetensors index");
  const JsonField map = root.at("weight_map");
  map.expect_object("a map from tensor names to shard files");
  std::set<std::string> shards;
  for (const std::string& tensor : map.keys()) {
    const JsonField shard = map.at(tensor);
    const std::string name = shard.string();
    try {
      check_repo_path(name, source);
    } catch (const InputError&) {
      shard.fail("expected a shard file name inside the repository");
    }
    shards.insert(name);
  }
  if (shards.empty()) map.fail("expected at least one tensor");
  return {shards.begin(), shards.end()};
}

}  // namespace moeroute::detail
