// Tokenizer interface shared by the built-in demo models (byte-level) and real checkpoints
// (Hugging Face tokenizer.json). Text in, token ids out, and back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  /// Token ids for `text`. No BOS/EOS is added (chat templates carry their own markers). With
  /// `parse_special`, special-token strings in the text become their ids; otherwise they are
  /// encoded as ordinary text.
  virtual std::vector<int64_t> encode(std::string_view text, bool parse_special = true) const = 0;

  /// The text of `ids` (bytes concatenated; invalid UTF-8 across tokens is repaired only at
  /// the end). `skip_special` drops special tokens.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const = 0;

  /// The vocabulary string of one token as the model's vocabulary spells it, for display.
  virtual std::string token_piece(int64_t id) const = 0;

  /// Number of ids (vocabulary plus added tokens).
  virtual int64_t vocab_size() const = 0;

  /// Id of a token given its exact string (e.g. "<|im_end|>"), if the vocabulary has it.
  virtual std::optional<int64_t> token_id(std::string_view token) const = 0;
};

/// Byte-level tokenizer of the built-in demo models: ids 0–255 are the bytes, then
/// `special_tokens` in order from 256.
std::unique_ptr<Tokenizer> make_byte_tokenizer(std::vector<std::string> special_tokens);

}  // namespace moeroute
