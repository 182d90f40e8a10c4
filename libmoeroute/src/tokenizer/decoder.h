// The `decoder` of tokenizer.json: ByteLevel, ByteFallback, Fuse, Strip, Replace and Sequence,
// each with Hugging Face's decode_chain semantics; null joins the tokens with spaces.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/json_input.h"
#include "tokenizer/regex.h"

namespace moeroute::detail {

class Decoder {
 public:
  /// Builds the decoder described by `spec` (may be null).
  static Decoder from_json(const JsonField& spec);

  /// The text of `tokens` (token strings as the vocabulary spells them).
  std::string decode(std::vector<std::string> tokens) const;

 private:
  struct Step {
    enum class Kind { byte_level, byte_fallback, fuse, strip, replace } kind;
    std::string content;             // strip: the character; replace: the replacement
    std::size_t start = 0;           // strip: how many to remove at the start
    std::size_t stop = 0;            // strip: how many to remove at the end
    std::shared_ptr<Regex> pattern;  // replace: what to replace
  };
  static void add_steps(const JsonField& spec, std::vector<Step>& steps);
  std::vector<Step> steps_;
  bool null_ = true;
};

}  // namespace moeroute::detail
