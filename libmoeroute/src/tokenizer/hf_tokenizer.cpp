// moeroute::Tokenizer for tokenizer.json: the pipeline of Hugging Face's
// Tokenizer::encode_single_sequence — added tokens, normalizer, pre-tokenizer, BPE model — and
// of its decode.
#include "moeroute/hf_tokenizer.h"

#include <deque>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "moeroute/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "io/json_input.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace moeroute {

namespace {

using detail::JsonField;

class HfTokenizer final : public Tokenizer {
 public:
  explicit HfTokenizer(const JsonField& top) : source_(top.source()) {
    top.expect_object("a Hugging Face tokenizer.json");
    const auto optional = [&](std::string_view key) { return top.member(key); };
    normalizer_ = detail::Normalizer::from_json(optional("normalizer"));
    pre_tokenizer_ = detail::PreTokenizer::from_json(optional("pre_tokenizer"));
    model_ = detail::BpeModel::from_json(top.at("model"), pre_tokenizer_.byte_level());
    decoder_ = detail::Decoder::from_json(optional("decoder"));
    id_limit_ = model_->id_limit();

    std::vector<detail::AddedToken> added;
    const JsonField list = optional("added_tokens");
    if (!list.is_null()) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const JsonField entry = list.at(i);
        detail::AddedToken t;
        const std::int64_t id = entry.at("id").integer();
        if (id < 0 || id > INT32_MAX - 1) entry.at("id").fail("expected a non-negative id");
        t.id = static_cast<std::int32_t>(id);
        t.content = entry.at("content").string();
        t.special = entry.bool_or("special", false);
        t.single_word = entry.bool_or("single_word", false);
        t.lstrip = entry.bool_or("lstrip", false);
        t.rstrip = entry.bool_or("rstrip", false);
        t.normalized = entry.bool_or("normalized", !t.special);
        id_limit_ = std::max<std::int64_t>(id_limit_, id + 1);
        added.push_back(std::move(t));
      }
    }
    added_.build(std::move(added), normalizer_);
  }

  std::vector<int64_t> encode(std::string_view text, bool parse_special) const override {
    // Any bytes are accepted: ill-formed UTF-8 becomes U+FFFD first, as decoding the bytes
    // with errors="replace" in Python would.
    std::string repaired;
    if (!detail::utf8_is_valid(text)) {
      repaired = detail::utf8_repair(text);
      text = repaired;
    }
    std::vector<std::int32_t> ids;
    ids.reserve(text.size() / 3 + 1);
    std::vector<detail::AddedTokens::Segment> raw_segments;
    std::vector<detail::AddedTokens::Segment> norm_segments;
    std::vector<std::string_view> pieces;
    std::deque<std::string> storage;
    added_.split(text, false, parse_special, raw_segments);
    for (const auto& seg : raw_segments) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      std::string normalized;
      std::string_view part = text.substr(seg.start, seg.end - seg.start);
      if (!normalizer_.empty()) {
        normalized = normalizer_.apply(part);
        part = normalized;
      }
      norm_segments.clear();
      added_.split(part, true, parse_special, norm_segments);
      for (const auto& sub : norm_segments) {
        if (sub.id >= 0) {
          ids.push_back(sub.id);
          continue;
        }
        pieces.clear();
        storage.clear();
        pre_tokenizer_.split(part.substr(sub.start, sub.end - sub.start), pieces, storage);
        for (const std::string_view piece : pieces) model_->encode(piece, ids);
      }
    }
    return std::vector<int64_t>(ids.begin(), ids.end());
  }

  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const int64_t id : ids) {
      std::string token = piece_of(id);
      if (skip_special && added_.is_special_content(token)) continue;
      tokens.push_back(std::move(token));
    }
    return decoder_.decode(std::move(tokens));
  }

  std::string token_piece(int64_t id) const override {
    if (const detail::AddedToken* t = added_.by_id(id)) return t->content;
    return piece_of(id);
  }

  int64_t vocab_size() const override { return id_limit_; }

  std::optional<int64_t> token_id(std::string_view token) const override {
    if (const detail::AddedToken* t = added_.by_content(token)) return t->id;
    if (const auto id = model_->id(token)) return *id;
    return std::nullopt;
  }

 private:
  // The string Hugging Face decodes for `id`: an added token's text as written in the file
  // (tokenizers 0.22; 0.23 decodes the normalized spelling) or the vocabulary entry.
  std::string piece_of(int64_t id) const {
    if (const detail::AddedToken* t = added_.by_id(id)) return t->content;
    if (const std::string* s = model_->token(id)) return *s;
    throw InputError(fmt::format("{}: token id {} is not in the vocabulary (ids 0..{})", source_, id, id_limit_ - 1));
  }

  std::string source_;
  detail::Normalizer normalizer_;
  detail::PreTokenizer pre_tokenizer_;
  std::unique_ptr<detail::BpeModel> model_;
  detail::Decoder decoder_;
  detail::AddedTokens added_;
  std::int64_t id_limit_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view json_text, const std::string& source) {
  return std::make_unique<HfTokenizer>(detail::parse_json(std::string(json_text), source));
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& file_or_model_dir) {
  std::filesystem::path file = file_or_model_dir;
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) file /= "tokenizer.json";
  return std::make_unique<HfTokenizer>(detail::read_json_file(file));
}

}  // namespace moeroute
