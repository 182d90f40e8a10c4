// The `added_tokens` of tokenizer.json: tokens matched in the text before pre-tokenization
// (leftmost-longest, as Hugging Face's Aho-Corasick matcher), with the special, lstrip, rstrip,
// single_word and normalized flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moeroute::detail {

class Normalizer;

struct AddedToken {
  std::int32_t id = 0;
  std::string content;       // as written in the file
  std::string match;         // what is matched: `content`, normalized if `normalized`
  bool single_word = false;  // only match when no word character touches either end
  bool lstrip = false;       // the match swallows whitespace to its left
  bool rstrip = false;       // the match swallows whitespace to its right
  bool normalized = false;   // matched in the normalized text instead of the raw text
  bool special = false;      // a control token: skippable in decode, text when not parsed
};

class AddedTokens {
 public:
  /// A piece of text: an added token (`id` >= 0) or plain text (`id` == -1), by byte range.
  struct Segment {
    std::size_t start;
    std::size_t end;
    std::int32_t id;
  };

  /// Takes the tokens; the normalized ones are matched in their normalized spelling.
  void build(std::vector<AddedToken> tokens, const Normalizer& normalizer);

  /// Splits `text` (valid UTF-8) at the added tokens of one kind (`normalized` or raw), as
  /// Hugging Face's AddedVocabulary::find_matches does. Special tokens are left in the text
  /// unless `parse_special`.
  void split(std::string_view text, bool normalized, bool parse_special, std::vector<Segment>& out) const;

  const AddedToken* by_id(std::int64_t id) const;
  const AddedToken* by_content(std::string_view content) const;
  /// True when `content` is the content of a special added token.
  bool is_special_content(std::string_view content) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, std::int32_t>> children;  // sorted by byte
      std::int32_t token = -1;                                       // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    bool first_byte[256] = {};
    void insert(std::string_view key, std::int32_t token);
    // Longest key starting at `pos`: its end and token index, or token -1.
    std::pair<std::size_t, std::int32_t> longest_at(std::string_view text, std::size_t pos) const;
  };

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::int64_t, std::size_t> by_id_;
  std::unordered_map<std::string, std::size_t> by_content_;
  Trie raw_;
  Trie normalized_;
};

}  // namespace moeroute::detail
