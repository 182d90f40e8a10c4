// The `normalizer` of tokenizer.json: NFC, Prepend, Replace and Sequence of those. Others
// (NFKC, Lowercase, BertNormalizer, Precompiled, …) are refused with UnsupportedError.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_input.h"
#include "tokenizer/regex.h"

namespace moeroute::detail {

class Normalizer {
 public:
  /// Builds the normalizer described by `spec` (may be null: no normalization).
  static Normalizer from_json(const JsonField& spec);

  /// True when there is nothing to do (null normalizer).
  bool empty() const { return steps_.empty(); }

  /// `text` (valid UTF-8) normalized.
  std::string apply(std::string_view text) const;

 private:
  struct Step {
    enum class Kind { nfc, prepend, replace } kind;
    std::string text;                // prepend: the prefix; replace: the replacement
    std::shared_ptr<Regex> pattern;  // replace: what to replace
  };
  static void add_steps(const JsonField& spec, std::vector<Step>& steps);
  std::vector<Step> steps_;
};

}  // namespace moeroute::detail
