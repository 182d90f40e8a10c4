// `stats --against OTHER`: the inputs' chunks, as they stream past, held against another trace of
// the same tokens. OTHER is read once and kept as top-k ids only (no logits, weights or text);
// each chunk of the inputs is paired with OTHER's sequences of the same ordinals (sequences in
// order of first appearance over all inputs) and positions, and its top-k agreement is summed
// (moeroute/topk_agreement.h). Definitions: docs/metrics.md, "Top-k agreement".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/stats.h"
#include "moeroute/trace_concat.h"
#include "moeroute/trace_input.h"

namespace moeroute::detail {

class AgainstAccumulator {
 public:
  /// Reads OTHER (any input for_each_trace_chunk opens). With check_tokens every pair's token ids
  /// must agree (both traces then need token ids).
  AgainstAccumulator(const std::filesystem::path& other, const TraceInputOptions& input, bool check_tokens);

  /// Pairs `chunk` (from input `source`, named as the statistics name it) with OTHER.
  void add(const RouterTrace& chunk, const std::string& source);

  /// The sums so far. Throws InputError when no token was paired.
  AgainstStats finish() const;

 private:
  std::string name_;
  bool check_tokens_;
  RouterTrace other_;                      // top-k ids and per-row arrays only
  std::vector<SequenceRows> other_seqs_;   // in order of first appearance
  std::string last_source_;
  int64_t last_id_ = 0;
  int64_t sequences_ = 0;                  // distinct sequences of the inputs so far
  int64_t input_rows_ = 0;
  TopkAgreement total_;
};

}  // namespace moeroute::detail
