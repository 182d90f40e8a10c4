#include "pipeline/stats_against.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/trace_rows.h"
#include "moeroute/divergence.h"
#include "moeroute/error.h"

namespace moeroute::detail {

AgainstAccumulator::AgainstAccumulator(const std::filesystem::path& other, const TraceInputOptions& input,
                                       bool check_tokens)
    : name_(other.string()), check_tokens_(check_tokens) {
  std::vector<RouterTrace> parts;
  for_each_trace_chunk(
      other,
      [&](const RouterTrace& chunk, const TraceChunkInfo&) {
        RouterTrace ids = chunk;
        ids.router_logits = {};
        ids.gate_weights = {};
        ids.token_text = {};
        parts.push_back(std::move(ids));
      },
      input);
  other_ = detail::concat_rows(std::move(parts));
  if (other_.num_positions == 0) throw InputError(fmt::format("{}: no routed tokens to compare with", name_));
  other_seqs_ = sequence_rows(other_);
}

void AgainstAccumulator::add(const RouterTrace& chunk, const std::string& source) {
  input_rows_ += chunk.num_positions;
  // OTHER's rows for this chunk's sequences: the same ordinals, each sequence once.
  std::vector<int64_t> rows;
  for (const SequenceRows& s : sequence_rows(chunk)) {
    const bool continued = sequences_ > 0 && source == last_source_ && s.id == last_id_;
    if (!continued) ++sequences_;
    last_source_ = source;
    last_id_ = s.id;
    const auto ordinal = static_cast<size_t>(sequences_ - 1);
    if (ordinal < other_seqs_.size())
      rows.insert(rows.end(), other_seqs_[ordinal].rows.begin(), other_seqs_[ordinal].rows.end());
  }
  if (rows.empty()) return;
  const RouterTrace other = select_rows(other_, rows);
  const TokenAlignment aligned = align_tokens(chunk, other, {check_tokens_, source, name_});
  accumulate(total_, topk_agreement(chunk, other, aligned.pairs, {source, name_}));
}

AgainstStats AgainstAccumulator::finish() const {
  if (total_.steps == 0)
    throw InputError(fmt::format("the inputs and {} share no (sequence, position): nothing to compare", name_));
  AgainstStats a;
  a.other = name_;
  a.agreement = total_;
  a.tokens_checked = check_tokens_;
  const auto theirs = static_cast<int64_t>(other_seqs_.size());
  a.sequences_paired = std::min(sequences_, theirs);
  a.sequences_only_inputs = std::max<int64_t>(0, sequences_ - theirs);
  a.sequences_only_other = std::max<int64_t>(0, theirs - sequences_);
  a.unmatched_inputs = input_rows_ - total_.steps;
  a.unmatched_other = other_.num_positions - total_.steps;
  // Each trace's expert distribution over the paired tokens: the counts normalised per layer.
  const auto E = static_cast<size_t>(total_.num_experts);
  double sum = 0;
  for (size_t l = 0; l < total_.layers.size(); ++l) {
    std::vector<double> p(E), q(E);
    double np = 0, nq = 0;
    for (size_t e = 0; e < E; ++e) {
      np += static_cast<double>(total_.expert_counts_a[l * E + e]);
      nq += static_cast<double>(total_.expert_counts_b[l * E + e]);
    }
    for (size_t e = 0; e < E; ++e) {
      p[e] = static_cast<double>(total_.expert_counts_a[l * E + e]) / np;
      q[e] = static_cast<double>(total_.expert_counts_b[l * E + e]) / nq;
    }
    a.jsd.push_back(np > 0 && nq > 0 ? jsd(p.data(), q.data(), E) : std::nan(""));
    sum += a.jsd.back();
  }
  a.mean_jsd = a.jsd.empty() ? std::nan("") : sum / static_cast<double>(a.jsd.size());
  return a;
}

}  // namespace moeroute::detail
