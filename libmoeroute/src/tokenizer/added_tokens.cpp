#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/normalizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace moeroute::detail {

namespace {

// Unicode White_Space, which Rust's `\s` (used by Hugging Face for lstrip/rstrip) matches.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Rust's Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation, join controls.
const Regex& word_char_regex() {
  static const Regex re(R"(^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])", "word character class");
  return re;
}

// Start of the code point that ends at `end` (exclusive).
std::size_t previous_char_start(std::string_view s, std::size_t end) {
  std::size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80 && end - i < 4) --i;
  return i;
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  return word_char_regex().search(s.substr(previous_char_start(s, s.size())));
}

bool starts_with_word(std::string_view s) { return !s.empty() && word_char_regex().search(s); }

// Byte offset where the run of whitespace ending `s` begins.
std::size_t trailing_space_start(std::string_view s) {
  std::size_t end = s.size();
  while (end > 0) {
    const std::size_t start = previous_char_start(s, end);
    const std::size_t n = utf8_sequence_length(s, start);
    if (n != end - start || !is_white_space(utf8_decode(s, start, n))) break;
    end = start;
  }
  return end;
}

// Length of the run of whitespace starting `s`.
std::size_t leading_space_length(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0 || !is_white_space(utf8_decode(s, i, n))) break;
    i += n;
  }
  return i;
}

}  // namespace

void AddedTokens::Trie::insert(std::string_view key, std::int32_t token) {
  std::int32_t node = 0;
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    auto& children = nodes[static_cast<std::size_t>(node)].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(c, std::int32_t{-1}));
    if (it != children.end() && it->first == c) {
      node = it->second;
    } else {
      const auto next = static_cast<std::int32_t>(nodes.size());
      children.insert(it, {c, next});
      nodes.emplace_back();
      node = next;
    }
  }
  nodes[static_cast<std::size_t>(node)].token = token;
  first_byte[static_cast<unsigned char>(key.front())] = true;
}

std::pair<std::size_t, std::int32_t> AddedTokens::Trie::longest_at(std::string_view text, std::size_t pos) const {
  std::pair<std::size_t, std::int32_t> best{pos, -1};
  std::int32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto& children = nodes[static_cast<std::size_t>(node)].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(c, std::int32_t{-1}));
    if (it == children.end() || it->first != c) break;
    node = it->second;
    if (nodes[static_cast<std::size_t>(node)].token >= 0) best = {i + 1, nodes[static_cast<std::size_t>(node)].token};
  }
  return best;
}

void AddedTokens::build(std::vector<AddedToken> tokens, const Normalizer& normalizer) {
  tokens_ = std::move(tokens);
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    AddedToken& t = tokens_[i];
    t.match = t.normalized && !normalizer.empty() ? normalizer.apply(t.content) : t.content;
    // A later entry with the same content or id wins, as in Hugging Face's maps.
    by_id_[t.id] = i;
    by_content_[t.content] = i;
  }
  for (const auto& [content, index] : by_content_) {
    const AddedToken& t = tokens_[index];
    if (t.match.empty() || by_id_.at(t.id) != index) continue;
    (t.normalized ? normalized_ : raw_).insert(t.match, static_cast<std::int32_t>(index));
  }
}

void AddedTokens::split(std::string_view text, bool normalized, bool parse_special, std::vector<Segment>& out) const {
  const Trie& trie = normalized ? normalized_ : raw_;
  std::size_t start_offset = 0;
  std::size_t pos = 0;
  if (trie.nodes.front().children.empty()) pos = text.size();
  while (pos < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [match_end, index] = trie.longest_at(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    std::size_t start = pos;
    std::size_t stop = match_end;
    pos = match_end;  // the matcher moves on whatever is decided below
    const AddedToken& t = tokens_[static_cast<std::size_t>(index)];
    if (t.special && !parse_special) continue;
    if (t.single_word) {
      const bool start_space = start == 0 || !ends_with_word(text.substr(0, start));
      const bool stop_space = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (t.rstrip) stop += leading_space_length(text.substr(stop));
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, t.id});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
}

const AddedToken* AddedTokens::by_id(std::int64_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedTokens::by_content(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

bool AddedTokens::is_special_content(std::string_view content) const {
  const AddedToken* t = by_content(content);
  return t != nullptr && t->special;
}

}  // namespace moeroute::detail
