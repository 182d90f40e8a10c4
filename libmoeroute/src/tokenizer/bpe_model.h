// The BPE `model` of tokenizer.json: vocabulary, ranked merges (both file formats), unknown
// token, byte fallback, subword prefix/suffix and `ignore_merges`. A word is merged with
// Hugging Face's algorithm (a min-heap of candidate merges over a linked list of symbols:
// O(n log n) per word), and merged words are cached.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/json_input.h"

namespace moeroute::detail {

class BpeModel {
 public:
  /// Builds the model from `spec` (the "model" object). With `byte_level`, encode() receives
  /// raw bytes and maps them to GPT-2's byte characters itself.
  static std::unique_ptr<BpeModel> from_json(const JsonField& spec, bool byte_level);

  /// Appends the ids of one pre-tokenized piece to `out`.
  void encode(std::string_view piece, std::vector<std::int32_t>& out) const;

  /// Token string of `id`, or nullptr when the vocabulary has no such id.
  const std::string* token(std::int64_t id) const;
  /// Id of the exact token string `token`.
  std::optional<std::int32_t> id(std::string_view token) const;
  /// One past the largest id.
  std::int64_t id_limit() const { return static_cast<std::int64_t>(tokens_.size()); }

 private:
  struct MergeEntry {
    std::uint64_t key;  // (left id << 32) | right id; kEmpty marks a free slot
    std::uint32_t rank;
    std::int32_t merged;
  };
  struct Symbol {
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
    std::int32_t len;  // 0 once merged into its left neighbour
  };

  const MergeEntry* find_merge(std::int32_t left, std::int32_t right) const;
  void insert_merge(std::int32_t left, std::int32_t right, std::uint32_t rank, std::int32_t merged);
  void symbolize(std::string_view word, std::vector<Symbol>& symbols) const;
  void merge(std::vector<Symbol>& symbols) const;
  void encode_uncached(std::string_view piece, std::vector<std::int32_t>& out) const;

  std::unordered_map<std::string, std::int32_t> vocab_;
  std::vector<std::string> tokens_;  // by id; empty where the vocabulary has a gap
  std::vector<MergeEntry> merges_;   // open addressing, power-of-two size
  std::uint64_t merge_mask_ = 0;

  bool byte_level_ = false;
  bool byte_fast_path_ = false;               // every byte's character is a token, no prefix/suffix
  std::array<std::int32_t, 256> byte_ids_{};  // id of each byte's character

  std::optional<std::int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<std::int32_t, 256> fallback_ids_{};  // id of "<0xXX>" for byte_fallback, -1 if absent

  // Cache of merged pieces (raw piece → ids); bounded, filled until full as Hugging Face does.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache_;
};

}  // namespace moeroute::detail
