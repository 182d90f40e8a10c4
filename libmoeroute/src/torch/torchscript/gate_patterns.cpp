// Module-path globs for router discovery.
#include <regex>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/torch/torchscript.h"

namespace moeroute {

std::vector<std::string> default_gate_patterns() {
  return {"**.layers.*.mlp.gate", "**.layers.*.mlp.router", "**.layers.*.block_sparse_moe.gate"};
}

bool gate_pattern_matches(const std::string& pattern, const std::string& path) {
  if (pattern.empty()) throw InputError("gate pattern is empty");
  std::string re;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (pattern.compare(i, 3, "**.") == 0) {
      re += "(?:[^.]+\\.)*";
      i += 2;
    } else if (pattern.compare(i, 2, "**") == 0) {
      re += ".*";
      i += 1;
    } else if (c == '*') {
      re += "[^.]*";
    } else if (std::string("\\^$.|?+()[]{}").find(c) != std::string::npos) {
      re += '\\';
      re += c;
    } else {
      re += c;
    }
  }
  return std::regex_match(path, std::regex(re));
}

}  // namespace moeroute
