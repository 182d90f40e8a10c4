// A compiled PCRE2 pattern (UTF + Unicode properties, JIT) for the tokenizer's Split
// pre-tokenizers and the added-token word checks.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/json_input.h"

namespace moeroute::detail {

class Regex {
 public:
  /// Compiles `pattern`; a pattern PCRE2 rejects throws InputError naming `source` (file and
  /// field), the offset and PCRE2's reason.
  Regex(std::string_view pattern, const std::string& source);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  /// Byte ranges [start, end) of the non-empty, non-overlapping matches in `text` (valid
  /// UTF-8), left to right, appended to `out`. After an empty match the search resumes one
  /// character later, as Oniguruma's iterator (used by Hugging Face tokenizers) does.
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;

  /// True when the pattern matches somewhere in `text` (valid UTF-8).
  bool search(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `text` with every regex metacharacter escaped, for `{"String": …}` split patterns.
std::string regex_escape(std::string_view text);

/// A tokenizer.json pattern object, `{"String": literal}` or `{"Regex": pattern}`, compiled;
/// errors (neither key, a pattern PCRE2 rejects) name the field.
std::unique_ptr<Regex> regex_from_pattern(const JsonField& pattern);

}  // namespace moeroute::detail
