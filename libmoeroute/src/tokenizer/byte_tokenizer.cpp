// Byte-level tokenizer of the built-in demo models: ids 0–255 are bytes, special tokens follow.
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/tokenizer.h"

namespace moeroute {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t utf8_sequence(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t j = 1; j < n; ++j) {
    const auto d = static_cast<unsigned char>(s[i + j]);
    if ((d & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// Replaces each byte that does not start a valid sequence with U+FFFD.
std::string repair_utf8(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

class ByteTokenizer final : public Tokenizer {
 public:
  explicit ByteTokenizer(std::vector<std::string> specials) : specials_(std::move(specials)) {
    for (const auto& s : specials_)
      if (s.empty()) throw InputError("byte tokenizer: empty special token");
  }

  std::vector<int64_t> encode(std::string_view text, bool parse_special) const override {
    std::vector<int64_t> ids;
    for (size_t i = 0; i < text.size();) {
      int64_t special = -1;
      size_t len = 0;
      if (parse_special) {
        for (size_t s = 0; s < specials_.size(); ++s) {
          if (specials_[s].size() > len && text.compare(i, specials_[s].size(), specials_[s]) == 0) {
            special = 256 + static_cast<int64_t>(s);
            len = specials_[s].size();
          }
        }
      }
      if (special >= 0) {
        ids.push_back(special);
        i += len;
      } else {
        ids.push_back(static_cast<unsigned char>(text[i++]));
      }
    }
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const override {
    std::string bytes;
    for (int64_t id : ids) {
      check(id);
      if (id < 256) bytes += static_cast<char>(id);
      else if (!skip_special) bytes += specials_[static_cast<size_t>(id - 256)];
    }
    return repair_utf8(bytes);
  }

  std::string token_piece(int64_t id) const override {
    check(id);
    if (id >= 256) return specials_[static_cast<size_t>(id - 256)];
    if (id >= 0x20 && id < 0x7f) return std::string(1, static_cast<char>(id));
    return fmt::format("<0x{:02X}>", id);
  }

  int64_t vocab_size() const override { return 256 + static_cast<int64_t>(specials_.size()); }

  std::optional<int64_t> token_id(std::string_view token) const override {
    for (size_t s = 0; s < specials_.size(); ++s)
      if (token == specials_[s]) return 256 + static_cast<int64_t>(s);
    if (token.size() == 1) return static_cast<unsigned char>(token[0]);
    unsigned value = 0;
    char tail = 0;
    if (token.size() == 6 && std::sscanf(std::string(token).c_str(), "<0x%2X%c", &value, &tail) == 2 && tail == '>')
      return static_cast<int64_t>(value);
    return std::nullopt;
  }

 private:
  void check(int64_t id) const {
    if (id < 0 || id >= vocab_size())
      throw InputError(fmt::format("token id {} is outside the byte vocabulary [0, {})", id, vocab_size()));
  }
  std::vector<std::string> specials_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer(std::vector<std::string> special_tokens) {
  return std::make_unique<ByteTokenizer>(std::move(special_tokens));
}

}  // namespace moeroute
