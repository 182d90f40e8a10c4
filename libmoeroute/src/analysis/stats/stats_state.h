// The state of a RoutingStats accumulator: integers only (counts, and 128-bit sums of values in
// fixed point), so merging is exact. Private to the stats module.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/stats.h"

static_assert(moeroute::kStatsFixedPointBits == 40, "to_fixed scales by 2^40");

namespace moeroute::detail {

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

/// v rounded to the nearest multiple of 2^-kStatsFixedPointBits, as an integer. |v| must be
/// below 2^22 (checked by the caller's domain: entropies, weights and losses are far smaller).
inline int64_t to_fixed(double v) { return std::llrint(v * 1099511627776.0); }  // 2^40: exact scaling
inline double from_fixed(Int128 v) { return std::ldexp(static_cast<double>(v), -kStatsFixedPointBits); }
/// Largest magnitude to_fixed accepts.
inline constexpr double kFixedLimit = 4194304.0;  // 2^22

/// Sum, sum of squares, extremes and histogram of fixed-point values.
struct ValueAcc {
  int64_t n = 0;
  Int128 sum = 0, sumsq = 0;
  int64_t min = INT64_MAX, max = INT64_MIN;  // fixed point
  std::vector<int64_t> hist;

  void add(int64_t q, int64_t qsq, int bin) {
    ++n;
    sum += q;
    sumsq += qsq;
    min = q < min ? q : min;
    max = q > max ? q : max;
    ++hist[static_cast<size_t>(bin)];
  }
  void merge(const ValueAcc& o);
};

struct LabelAcc {
  int64_t samples = 0, tokens = 0, samples_with_loss = 0, loss_weight = 0;
  Int128 loss_sum = 0, loss_weighted_sum = 0;
  Int128 ef_sum = 0, et_sum = 0;
  int64_t ef_n = 0, et_n = 0;
  std::vector<int64_t> counts;    // [L·E]
  std::vector<int64_t> dropped;   // [F]
  int64_t assigned = 0;
  void merge(const LabelAcc& o);
};

struct SampleAcc {
  int source = 0;
  int64_t id = 0;
  int label = 0;
  int64_t tokens = 0;
  int64_t num_tokens = 0;  // as the sequence description says (0 without one)
  double loss = NAN;
  Int128 ef_sum = 0, et_sum = 0;
  int64_t ef_n = 0, et_n = 0;
  std::vector<int64_t> dropped;  // [F]
  int64_t assigned = 0;
};

/// A capacity group: (source, sequence, group number within the sequence).
using GroupKey = std::tuple<int, int64_t, int64_t>;

struct GroupAcc {
  int64_t rows = 0;
  int sample = 0;             // index into samples
  std::vector<uint32_t> counts;  // [L·E]
};

struct StatsStateData {
  StatsOptions options;
  bool initialised = false;
  std::string model_id, routing_rule;
  std::vector<LayerInfo> layers;
  int E = 0, K = 0;
  LogitsKind logits_kind = LogitsKind::Raw;
  int64_t rows = 0;
  int64_t logits_rows = 0, weight_rows = 0, token_rows = 0;  // rows that carried each optional array
  std::vector<std::string> sources;

  std::vector<int64_t> count, top1;    // [L·E]
  std::vector<Int128> wsum;            // [L·E]
  std::vector<ValueAcc> ent_full, ent_topk;  // [L]
  std::vector<int64_t> dropped;        // [L·F]
  std::vector<int64_t> assigned;       // [L]
  std::vector<int64_t> coact;          // [L·E·E], entry (a, b) with a < b
  std::vector<int64_t> cross;          // [(L−1)·E·E], first choice at l (row) → at l+1 (column)
  std::vector<int64_t> window_rows;    // [W]
  std::vector<int64_t> window_counts;  // [W·L·E]

  // Token → expert table.
  bool token_table = true;
  std::string token_note;              // why the table was dropped ("" = kept)
  std::vector<int> token_layers;       // layer positions with a table
  std::unordered_map<int64_t, int32_t> vocab;  // token id → row
  std::vector<int64_t> vocab_ids;
  std::vector<std::string> vocab_text;
  std::vector<int64_t> occurrences;    // [V]
  std::vector<std::vector<uint32_t>> token_counts;  // per token layer: [V·E]

  std::vector<std::string> labels;
  std::unordered_map<std::string, int> label_index;
  std::vector<LabelAcc> label_acc;

  std::vector<SampleAcc> samples;
  std::map<std::pair<int, int64_t>, int> sample_index;

  std::map<GroupKey, GroupAcc> open;
  std::set<GroupKey> closed;

  size_t F() const { return options.capacity_factors.size(); }
  size_t LE() const { return layers.size() * static_cast<size_t>(E); }

  /// Puts sources and labels in name order and samples in (source, id) order, so that equal
  /// statistics have equal representations however they were accumulated (the vocabulary is
  /// ordered on output: vocab_order). Needs every group closed.
  void canonicalize();
  /// Vocabulary rows in token-id order.
  std::vector<size_t> vocab_order() const;
};

/// The options as JSON (state files, stats.json).
nlohmann::json options_json(const StatsOptions& o);
/// The options as canonical JSON text: statistics merge only when these are equal.
std::string options_key(const StatsOptions& o);

}  // namespace moeroute::detail

namespace moeroute {

/// The accumulator's state with the operations add() and merge() share (routing_stats.cpp).
struct RoutingStats::State : detail::StatsStateData {
  int source_index(const std::string& name);
  int label_of(const std::string& name);
  /// The vocabulary row of `token`, added when new (call grow_token_tables before counting into it).
  int vocab_row(int64_t token, const std::string* text);
  /// Sizes the token tables to the vocabulary.
  void grow_token_tables();
  void check_token_table_size();
  void drop_token_table(const std::string& why);
  void init(const RouterTrace& t, int experts);
  /// Throws InputError when `t` is of another model or shape than the chunks so far.
  void check_compatible(const RouterTrace& t, int experts, const std::string& what) const;
  /// Capacity overflow of a finished group: per layer and factor, assignments beyond
  /// ceil(factor · K · rows / E) at each expert.
  void close(const detail::GroupKey& key, const detail::GroupAcc& g);
  void close_all();
};

}  // namespace moeroute
