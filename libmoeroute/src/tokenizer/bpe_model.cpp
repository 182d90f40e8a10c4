#include "tokenizer/bpe_model.h"

#include <algorithm>

#include <fmt/format.h>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace moeroute::detail {

namespace {

constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
constexpr std::size_t kCacheCapacity = 1 << 16;  // pieces; Hugging Face keeps 10 000
constexpr std::size_t kCacheMaxPiece = 256;      // bytes; longer pieces are not cached

std::uint64_t merge_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
}

std::size_t merge_slot(std::uint64_t key, std::uint64_t mask) {
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
}

// The two tokens of merges[i] (`v`), in either file format; errors name `merges`[i].
std::pair<std::string, std::string> merge_pair(const nlohmann::json& v, const JsonField& merges, std::size_t i) {
  if (v.is_string()) {
    const auto& line = v.get_ref<const std::string&>();
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      merges.at(i).fail(fmt::format("expected two tokens separated by one space, found \"{}\"", line));
    return {line.substr(0, space), line.substr(space + 1)};
  }
  if (v.is_array() && v.size() == 2 && v[0].is_string() && v[1].is_string())
    return {v[0].get<std::string>(), v[1].get<std::string>()};
  merges.at(i).fail("expected \"left right\" or [\"left\", \"right\"]");
}

}  // namespace

std::unique_ptr<BpeModel> BpeModel::from_json(const JsonField& spec, bool byte_level) {
  auto m = std::make_unique<BpeModel>();
  if (spec.has("type")) {
    const std::string type = spec.at("type").string();
    if (type != "BPE")
      spec.at("type").unsupported(fmt::format("model type '{}' is not supported (only BPE)", type));
  }
  if (spec.has("dropout")) {
    const JsonField dropout = spec.at("dropout");
    if (!dropout.json().is_number()) dropout.fail("expected a number or null");
    if (dropout.json().get<double>() != 0.0) dropout.unsupported("BPE dropout (random merges) is not supported");
  }
  m->byte_level_ = byte_level;
  m->continuing_subword_prefix_ = spec.string_or("continuing_subword_prefix", "");
  m->end_of_word_suffix_ = spec.string_or("end_of_word_suffix", "");
  m->fuse_unk_ = spec.bool_or("fuse_unk", false);
  m->byte_fallback_ = spec.bool_or("byte_fallback", false);
  m->ignore_merges_ = spec.bool_or("ignore_merges", false);

  // Vocabulary.
  const JsonField vocab = spec.at("vocab");
  if (!vocab.json().is_object()) vocab.fail("expected an object of token → id");
  m->vocab_.reserve(vocab.json().size());
  std::int64_t max_id = -1;
  for (const auto& [token, id_json] : vocab.json().items()) {
    if (!id_json.is_number_integer() || id_json.get<std::int64_t>() < 0 ||
        id_json.get<std::int64_t>() > INT32_MAX - 1)
      vocab.at(token).fail("expected a non-negative id");
    const auto id = static_cast<std::int32_t>(id_json.get<std::int64_t>());
    m->vocab_.emplace(token, id);
    max_id = std::max<std::int64_t>(max_id, id);
  }
  m->tokens_.resize(static_cast<std::size_t>(max_id + 1));
  for (const auto& [token, id] : m->vocab_) m->tokens_[static_cast<std::size_t>(id)] = token;

  // Merges: rank = position in the list; a later duplicate replaces an earlier one.
  const JsonField merges = spec.at("merges");
  const std::size_t count = merges.size();
  std::size_t slots = 16;
  while (slots < count * 2) slots *= 2;
  m->merges_.assign(slots, MergeEntry{kEmpty, 0, 0});
  m->merge_mask_ = slots - 1;
  const std::size_t prefix_len = m->continuing_subword_prefix_.size();
  std::uint32_t rank = 0;
  for (std::size_t i = 0; i < count; ++i) {
    // Fields are only built for error messages: this loop runs 100 000s of times.
    const nlohmann::json& entry = merges.json()[i];
    if (entry.is_string() && entry.get_ref<const std::string&>().rfind("#version", 0) == 0) continue;
    auto [left, right] = merge_pair(entry, merges, i);
    const auto lookup = [&](const std::string& token) {
      const auto it = m->vocab_.find(token);
      if (it == m->vocab_.end()) merges.at(i).fail(fmt::format("token \"{}\" is not in model.vocab", token));
      return it->second;
    };
    if (right.size() < prefix_len) merges.at(i).fail("right token is shorter than continuing_subword_prefix");
    const std::int32_t left_id = lookup(left);
    const std::int32_t right_id = lookup(right);
    m->insert_merge(left_id, right_id, rank++, lookup(left + right.substr(prefix_len)));
  }

  if (spec.has("unk_token")) {
    const JsonField unk = spec.at("unk_token");
    const auto it = m->vocab_.find(unk.string());
    if (it == m->vocab_.end()) unk.fail(fmt::format("unknown token \"{}\" is not in model.vocab", unk.string()));
    m->unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = m->vocab_.find(fmt::format("<0x{:02X}>", b));
    m->fallback_ids_[static_cast<std::size_t>(b)] = it == m->vocab_.end() ? -1 : it->second;
  }
  m->byte_fast_path_ = byte_level && prefix_len == 0 && m->end_of_word_suffix_.empty();
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    utf8_append(ch, byte_to_char(static_cast<unsigned char>(b)));
    const auto it = m->vocab_.find(ch);
    m->byte_ids_[static_cast<std::size_t>(b)] = it == m->vocab_.end() ? -1 : it->second;
    if (it == m->vocab_.end()) m->byte_fast_path_ = false;
  }
  return m;
}

void BpeModel::insert_merge(std::int32_t left, std::int32_t right, std::uint32_t rank, std::int32_t merged) {
  const std::uint64_t key = merge_key(left, right);
  for (std::size_t slot = merge_slot(key, merge_mask_);; slot = (slot + 1) & merge_mask_) {
    MergeEntry& e = merges_[slot];
    if (e.key == kEmpty || e.key == key) {
      e = MergeEntry{key, rank, merged};
      return;
    }
  }
}

const BpeModel::MergeEntry* BpeModel::find_merge(std::int32_t left, std::int32_t right) const {
  const std::uint64_t key = merge_key(left, right);
  for (std::size_t slot = merge_slot(key, merge_mask_);; slot = (slot + 1) & merge_mask_) {
    const MergeEntry& e = merges_[slot];
    if (e.key == key) return &e;
    if (e.key == kEmpty) return nullptr;
  }
}

const std::string* BpeModel::token(std::int64_t id) const {
  if (id < 0 || id >= id_limit()) return nullptr;
  const std::string& t = tokens_[static_cast<std::size_t>(id)];
  // An empty string marks a gap, unless the vocabulary really maps "" to this id.
  if (t.empty()) {
    const auto it = vocab_.find(t);
    if (it == vocab_.end() || it->second != id) return nullptr;
  }
  return &t;
}

std::optional<std::int32_t> BpeModel::id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::symbolize(std::string_view word, std::vector<Symbol>& symbols) const {
  auto add = [&symbols](std::int32_t id, std::size_t len) {
    const auto index = static_cast<std::int32_t>(symbols.size());
    if (index > 0) symbols.back().next = index;
    symbols.push_back(Symbol{id, index - 1, -1, static_cast<std::int32_t>(len)});
  };
  if (byte_fast_path_) {
    for (const char c : word) add(byte_ids_[static_cast<unsigned char>(c)], 1);
    return;
  }
  // Hugging Face's BPE::merge_word: one symbol per character (with prefix/suffix), byte
  // fallback or the unknown token for characters outside the vocabulary.
  std::string mapped;
  if (byte_level_) {
    mapped = bytes_to_byte_level(word);
    word = mapped;
  }
  std::int32_t pending_unk = -1;  // an unknown-token symbol not yet added, and its length
  std::size_t pending_len = 0;
  std::string s;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t n = utf8_sequence_length(word, i);
    if (n == 0) n = 1;
    const bool first = i == 0;
    const bool last = i + n == word.size();
    s.clear();
    if (!first) s += continuing_subword_prefix_;
    s.append(word, i, n);
    if (last) s += end_of_word_suffix_;
    i += n;
    const auto it = vocab_.find(s);
    if (it != vocab_.end()) {
      if (pending_unk >= 0) {
        add(pending_unk, pending_len);
        pending_unk = -1;
      }
      add(it->second, n);
      continue;
    }
    if (byte_fallback_ && std::all_of(s.begin(), s.end(), [this](char c) {
          return fallback_ids_[static_cast<unsigned char>(c)] >= 0;
        })) {
      for (const char c : s) add(fallback_ids_[static_cast<unsigned char>(c)], 1);
      continue;
    }
    if (unk_id_) {
      if (pending_unk >= 0 && fuse_unk_) {
        pending_len += n;
      } else {
        if (pending_unk >= 0) add(pending_unk, pending_len);
        pending_unk = *unk_id_;
        pending_len = n;
      }
    }
    // Without an unknown token the character is dropped, as Hugging Face does.
  }
  if (pending_unk >= 0) add(pending_unk, pending_len);
}

void BpeModel::merge(std::vector<Symbol>& symbols) const {
  // Hugging Face's Word::merge_all: always apply the lowest-ranked (then leftmost) candidate;
  // stale heap entries are recognised by the merged id no longer matching.
  struct Candidate {
    std::uint32_t rank;
    std::int32_t pos;
    std::int32_t merged;
  };
  const auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  thread_local std::vector<Candidate> heap;
  heap.clear();
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeEntry* e = find_merge(symbols[i].id, symbols[i + 1].id))
      heap.push_back({e->rank, static_cast<std::int32_t>(i), e->merged});
  }
  std::make_heap(heap.begin(), heap.end(), later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& cur = symbols[static_cast<std::size_t>(top.pos)];
    if (cur.len == 0 || cur.next == -1) continue;
    const Symbol right = symbols[static_cast<std::size_t>(cur.next)];
    const MergeEntry* e = find_merge(cur.id, right.id);
    if (e == nullptr || e->merged != top.merged) continue;

    cur.id = top.merged;
    cur.len += right.len;
    symbols[static_cast<std::size_t>(cur.next)].len = 0;
    cur.next = right.next;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;

    if (cur.prev >= 0) {
      if (const MergeEntry* p = find_merge(symbols[static_cast<std::size_t>(cur.prev)].id, cur.id)) {
        heap.push_back({p->rank, cur.prev, p->merged});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    if (cur.next >= 0) {
      if (const MergeEntry* n = find_merge(cur.id, symbols[static_cast<std::size_t>(cur.next)].id)) {
        heap.push_back({n->rank, top.pos, n->merged});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
  }
}

void BpeModel::encode_uncached(std::string_view piece, std::vector<std::int32_t>& out) const {
  if (ignore_merges_) {
    const auto it = byte_level_ ? vocab_.find(bytes_to_byte_level(piece)) : vocab_.find(std::string(piece));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::vector<Symbol> symbols;
  symbols.clear();
  symbolize(piece, symbols);
  merge(symbols);
  for (const Symbol& s : symbols)
    if (s.len != 0) out.push_back(s.id);
}

void BpeModel::encode(std::string_view piece, std::vector<std::int32_t>& out) const {
  if (piece.size() >= kCacheMaxPiece) {
    encode_uncached(piece, out);
    return;
  }
  thread_local std::string key;
  key.assign(piece);
  {
    const std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t first = out.size();
  encode_uncached(piece, out);
  const std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity)
    cache_.emplace(key, std::vector<std::int32_t>(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()));
}

}  // namespace moeroute::detail
