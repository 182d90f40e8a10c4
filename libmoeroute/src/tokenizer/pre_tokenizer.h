// The `pre_tokenizer` of tokenizer.json: Split (regex or string pattern, every delimiter
// behaviour, invert), ByteLevel (optional prefix space and GPT-2 regex) and Sequence. ByteLevel
// must come last; its byte → character mapping is left to the model, which works on bytes.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_input.h"
#include "tokenizer/regex.h"

namespace moeroute::detail {

class PreTokenizer {
 public:
  /// Builds the pre-tokenizer described by `spec` (may be null: the whole text is one piece).
  static PreTokenizer from_json(const JsonField& spec);

  /// True when the pipeline ends with ByteLevel: the pieces are raw bytes that the model must
  /// map to GPT-2's byte characters.
  bool byte_level() const { return byte_level_; }

  /// Appends the non-empty pieces of `text` (valid UTF-8) to `out`, left to right. Pieces view
  /// `text` or strings appended to `storage` (prefix spaces), which must outlive them.
  void split(std::string_view text, std::vector<std::string_view>& out, std::deque<std::string>& storage) const;

 private:
  enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
  struct Step {
    enum class Kind { split, prefix_space } kind;
    std::unique_ptr<Regex> regex;  // split: the pattern
    Behavior behavior = Behavior::isolated;
    bool invert = false;
  };
  void add_steps(const JsonField& spec, bool last);
  void apply_split(const Step& step, std::string_view piece, std::vector<std::string_view>& out) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace moeroute::detail
