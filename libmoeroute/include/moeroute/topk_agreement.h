// Top-k agreement between two routings: per layer and aligned step, the overlap (Jaccard) of the
// chosen expert sets and whether they differ at all (a "flip"), aggregated per layer, per step
// and overall — for id-only traces from serving engines held against a trainer's or moeroute's
// own trace of the same tokens (rollout routing replay), and for base vs variant prompts.
// Alignment of rows is explicit: generation steps, or the same tokens with their ids checked.
// Definitions: docs/metrics.md, "Top-k agreement".
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "moeroute/trace.h"

namespace moeroute {

/// Which row of trace A meets which row of trace B, in step order.
struct RowPairs {
  std::vector<int64_t> a_rows;  ///< row of A at step s
  std::vector<int64_t> b_rows;  ///< row of B at step s
  int64_t size() const { return static_cast<int64_t>(a_rows.size()); }
};

/// Generation steps (docs/metrics.md, "Alignment"): step s pairs row prompt_length − 1 + s of
/// each single-sequence trace, over min(generated lengths) steps (none without a prompt).
RowPairs generation_step_pairs(const RouterTrace& a, const RouterTrace& b);

struct TokenAlignmentOptions {
  bool check_tokens = true;   ///< compare token ids of paired rows; InputError on the first mismatch
  std::string a_name = "A";   ///< names in messages (file names, say)
  std::string b_name = "B";
};

struct TokenAlignment {
  RowPairs pairs;                  ///< in A's sequence order, then position
  int64_t sequences_paired = 0;    ///< sequence pairs with at least one common position
  int64_t unmatched_a = 0;         ///< rows of A whose position B lacks
  int64_t unmatched_b = 0;         ///< rows of B whose position A lacks
  bool tokens_checked = false;     ///< token ids were compared and all agreed
};

/// Pairs rows that route the same token: sequences are paired in order of first appearance
/// (a trace without sequence_ids is one sequence), rows by their position within the sequence.
/// With check_tokens both traces need token_ids and every pair must carry the same id, else
/// InputError naming the sequence, position and both ids. Throws InputError when nothing pairs,
/// or when a sequence repeats a position.
TokenAlignment align_tokens(const RouterTrace& a, const RouterTrace& b, const TokenAlignmentOptions& options = {});

/// The layers both traces route, matched by model layer index (LayerInfo::index).
struct LayerPairs {
  std::vector<int> a;               ///< layer row in A
  std::vector<int> b;               ///< layer row in B
  std::vector<int> index;           ///< model layer index
  std::vector<int> only_a, only_b;  ///< indices present in one trace only
};
/// Throws InputError when the traces share no layer index.
LayerPairs match_layers(const RouterTrace& a, const RouterTrace& b, const std::string& a_name = "A",
                        const std::string& b_name = "B");

struct TopkAgreement {
  std::vector<std::string> layers;          ///< A's layer names, row order of every matrix
  std::vector<int> layer_index;             ///< model layer index per row
  std::vector<int> layers_only_a, layers_only_b;  ///< indices not compared
  int64_t steps = 0;                        ///< aligned steps (row pairs)
  int top_k_a = 0, top_k_b = 0;
  std::vector<double> jaccard;              ///< [layers, steps]: |S_a ∩ S_b| / |S_a ∪ S_b|
  std::vector<uint8_t> flipped;             ///< [layers, steps]: 1 when S_a ≠ S_b
  std::vector<double> layer_jaccard_sum;    ///< [layers], Σ over steps of the Jaccard index
  std::vector<int64_t> layer_flips;         ///< [layers], steps whose sets differ
  std::vector<double> layer_mean_jaccard;   ///< [layers], mean over steps
  std::vector<double> layer_flip_rate;      ///< [layers], flipped steps / steps
  std::vector<int32_t> step_layers_flipped; ///< [steps], layers whose sets differ
  double mean_jaccard = std::numeric_limits<double>::quiet_NaN();   ///< over every layer × step
  double flip_rate = std::numeric_limits<double>::quiet_NaN();      ///< flipped layer × steps / all
  int64_t steps_with_flip = 0;              ///< steps where at least one layer flipped
  double any_layer_flip_fraction = std::numeric_limits<double>::quiet_NaN();  ///< steps_with_flip / steps
  int64_t order_only = 0;                   ///< layer × steps with the same set in a different order (not flips)
  int num_experts = 0;                      ///< logical experts per layer (the width of the counts)
  std::vector<int64_t> expert_counts_a;     ///< [layers, num_experts]: steps whose set in A holds the expert
  std::vector<int64_t> expert_counts_b;     ///< [layers, num_experts]: the same in B
};

struct TopkAgreementOptions {
  std::string a_name = "base";  ///< names in messages
  std::string b_name = "var";
};

/// Agreement of A and B over `pairs`, on the layers match_layers finds. Physical expert ids are
/// mapped to logical ones with the trace's physical_to_logical; traces must have the same number
/// of (logical) experts. Throws InputError when they are not comparable.
TopkAgreement topk_agreement(const RouterTrace& a, const RouterTrace& b, const RowPairs& pairs,
                             const TopkAgreementOptions& options = {});

/// Adds `part` — the agreement over further rows of the same two traces (the same layers) — to
/// `total` (empty: becomes `part`): steps, sums, flips and counts add, the means are recomputed
/// from the sums, and the per-step arrays (jaccard, flipped, step_layers_flipped) are dropped, so
/// that any number of chunks sum in constant memory. Throws InputError when the layers differ.
void accumulate(TopkAgreement& total, const TopkAgreement& part);

}  // namespace moeroute
