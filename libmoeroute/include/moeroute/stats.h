// Routing statistics at dataset scale: a mergeable accumulator (RoutingStats) that takes trace
// chunks one at a time, and the report derived from it — per layer and expert choice counts,
// weights, utilisation, router entropy, load balance and capacity overflow, dead and dominant
// experts, co-activation of every pair of the top-k, usage over position windows, token → expert
// and dataset → expert specialisation, cross-layer consistency, per-sample and per-dataset
// breakdowns. Every statistic is defined in docs/metrics.md ("Routing statistics").
//
// Mergeable exactly: the accumulator holds only integers — counts, and sums of values rounded
// to multiples of 2^-40 (kStatsFixedPointBits) in 128-bit integers — so any split of the input
// into chunks, shards or processes, accumulated separately and merged in any order, gives the
// same state, bit for bit, as one pass. Per-token values (entropies) are computed by code that
// uses only IEEE additions, multiplications and divisions (own exp/log, no FMA contraction), so
// they are the same on every machine.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "moeroute/topk_agreement.h"
#include "moeroute/trace.h"

namespace moeroute {

/// Fractional bits of the fixed-point sums: values are rounded to multiples of 2^-40 (≈ 9.1e-13)
/// before they are summed.
inline constexpr int kStatsFixedPointBits = 40;

/// Which rows of a trace are counted.
enum class SegmentFilter {
  All,        ///< every row
  Prompt,     ///< rows of the prompt segment (dataset traces: all rows are prompt)
  Generated,  ///< generated (or teacher-forced) rows only
};
/// "all", "prompt", "generated".
std::string to_string(SegmentFilter s);
SegmentFilter parse_segment_filter(const std::string& name);

struct StatsOptions {
  SegmentFilter segment = SegmentFilter::All;  ///< rows counted
  int64_t capacity_group = 0;                  ///< tokens per capacity group; 0 = each sequence is one group
  std::vector<double> capacity_factors{1.0, 1.25};  ///< capacity factors whose overflow is measured
  int64_t position_window = 128;               ///< positions per window of the usage-over-position table
  int entropy_bins = 20;                       ///< histogram bins of per-token entropy over [0, maximum]
  double rare_ratio = 0.1;                     ///< "rare" expert: utilisation below rare_ratio / E (and not dead)
  double dominant_ratio = 2.0;                 ///< "dominant" expert: utilisation above dominant_ratio / E
  bool tokens = true;                          ///< build the token → expert table (needs token ids)
  std::vector<int> token_layers;               ///< layer positions (row order) with the token table; empty = all
  uint64_t max_token_table_bytes = uint64_t{1} << 30;  ///< drop the token table (with a note) beyond this size
  int top_n = 10;                              ///< experts, tokens and pairs listed per layer in the report
  int64_t min_token_count = 10;                ///< occurrences a token needs to be ranked as specialised
};

/// Summary of per-token entropies (bits) over tokens × layers.
struct EntropySummary {
  int64_t count = 0;                ///< values summarised
  double mean = 0, std = 0;         ///< population standard deviation
  double min = 0, max = 0;
  double max_possible = 0;          ///< log2 E (full softmax) or log2 K (top-k weights)
  std::vector<int64_t> histogram;   ///< equal bins over [0, max_possible]
};

struct ExpertStats {
  int expert = 0;
  int64_t count = 0;         ///< times chosen among the top-k
  int64_t top1_count = 0;    ///< times chosen first
  double weight_sum = 0;     ///< Σ gate weights when chosen (NaN without gate weights)
  double mean_weight = 0;    ///< weight_sum / count (NaN when never chosen or no weights)
  double utilisation = 0;    ///< count / (tokens · K): share of the layer's assignments; uniform = 1/E
  double token_fraction = 0; ///< count / tokens: share of tokens that chose it
  std::string status;        ///< "dead", "rare", "dominant" or ""
};

struct CapacityStats {
  double factor = 0;
  int64_t dropped = 0;       ///< assignments beyond capacity, over all groups
  int64_t assigned = 0;      ///< assignments in all groups (tokens · K)
  double overflow_fraction = 0;  ///< dropped / assigned
};

struct CoactivationPair {
  int a = 0, b = 0;          ///< experts, a < b
  int64_t count = 0;         ///< tokens that chose both
  double lift = 0;           ///< count · N / (n_a · n_b): observed / expected if choices were independent
};

struct LayerStats {
  LayerInfo layer;
  int64_t tokens = 0;
  std::vector<ExpertStats> experts;  ///< by expert id
  int used_experts = 0;              ///< experts chosen at least once
  double cv = 0;                     ///< coefficient of variation of the counts (population std / mean)
  double max_over_mean = 0, min_over_mean = 0;
  double gini = 0;                   ///< Gini coefficient of the counts
  std::vector<int> dead, rare, dominant;
  std::vector<CapacityStats> capacity;  ///< one per capacity factor
  bool has_entropy_full = false, has_entropy_topk = false;
  EntropySummary entropy_full;       ///< of softmax(router logits)
  EntropySummary entropy_topk;       ///< of the renormalised top-k gate weights
  std::vector<int> top_experts;      ///< top_n ids by count (ties: lower id)
  std::vector<int> bottom_experts;   ///< top_n ids by ascending count (ties: lower id)
  std::vector<CoactivationPair> pairs;  ///< every pair chosen together at least once, by count (ties: lower a, then b)
};

/// The seed's expert_frequency.py "global statistics", over all layers.
struct GlobalFrequency {
  int64_t selections = 0;       ///< Σ counts over layers and experts
  double uniform_percent = 0;   ///< 100 / E
  double mean_percent = 0, std_percent = 0, min_percent = 0, max_percent = 0;  ///< of the per-(layer, expert) percentages of their layer's selections
  std::vector<std::pair<int, int64_t>> top_experts, bottom_experts;  ///< expert id → count summed over layers
};

/// How well layer l+1's first choice is predicted by layer l's, over the same tokens.
struct CrossLayerStats {
  int from = 0, to = 0;          ///< layer positions (row order)
  int64_t tokens = 0;
  double entropy_next = 0;       ///< H(B), bits: B = first choice at `to`
  double conditional_entropy = 0;  ///< H(B | A), bits: A = first choice at `from`
  double mutual_information = 0;   ///< I(A; B) = H(B) − H(B | A)
  double normalised_mi = 0;        ///< I(A; B) / H(B) (0 when H(B) = 0)
  double accuracy = 0;             ///< Σ_a max_b C[a,b] / N: the best predictor of B from A on these tokens
  double baseline_accuracy = 0;    ///< max_b C[·,b] / N: always predicting B's most common expert
};

struct TokenShare {
  int64_t token_id = 0;
  std::string text;
  int64_t count = 0;          ///< times this token chose the expert (at this layer)
  int64_t occurrences = 0;    ///< times the token occurred
  double share_of_expert = 0; ///< count / the expert's assignments
  double share_of_token = 0;  ///< count / occurrences: how often this token goes to the expert
};

struct TokenExpertStats {
  int layer = 0;              ///< layer position (row order)
  int expert = 0;
  int64_t assignments = 0;
  int64_t distinct_tokens = 0;
  double vocab_entropy = 0;   ///< bits, of the token distribution of the expert's assignments
  std::vector<TokenShare> top_tokens;          ///< by count (ties: lower id)
  std::vector<TokenShare> specialised_tokens;  ///< by share_of_token among tokens with ≥ min_token_count occurrences
};

struct DatasetStats {
  std::string label;
  int64_t samples = 0, tokens = 0;
  int64_t samples_with_loss = 0;
  double mean_loss = 0;            ///< mean of the samples' losses (nats; NaN when none)
  double token_weighted_loss = 0;  ///< Σ loss_i (n_i − 1) / Σ (n_i − 1): NLL per predicted token
  double entropy_full_mean = 0, entropy_topk_mean = 0;  ///< bits (NaN when not measured)
  std::vector<double> overflow_fraction;  ///< per capacity factor, over all layers
  std::vector<std::vector<double>> utilisation;  ///< [layer][expert]
  std::vector<std::vector<int64_t>> counts;      ///< [layer][expert]
};

struct DatasetDivergence {
  std::string a, b;
  std::vector<double> jsd;  ///< per layer, bits, between the two datasets' utilisation
  double mean_jsd = 0;
};

struct SampleStats {
  std::string source;
  int64_t id = 0;
  std::string label;
  int64_t tokens = 0;
  double loss = 0;                 ///< as recorded (NaN when not measured)
  double entropy_full_mean = 0, entropy_topk_mean = 0;  ///< bits, over its tokens and layers (NaN when not measured)
  std::vector<double> overflow_fraction;  ///< per capacity factor
};

struct WindowStats {
  int64_t begin = 0, end = 0;      ///< positions [begin, end)
  int64_t tokens = 0;
  std::vector<double> entropy;     ///< per layer: entropy (bits) of the window's expert utilisation
  std::vector<std::vector<int64_t>> counts;  ///< [layer][expert]
};

/// `stats --against OTHER`: the inputs held against another trace of the same tokens (two
/// checkpoints, two dtypes, two systems), sequence by sequence in order of first appearance and
/// position by position (docs/metrics.md, "Top-k agreement" and "Against another trace").
struct AgainstStats {
  std::string other;                 ///< OTHER as given
  TopkAgreement agreement;           ///< summed over every chunk: per layer and overall (no per-step arrays)
  std::vector<double> jsd;           ///< per compared layer: JSD (bits) between the two expert distributions over the paired tokens
  double mean_jsd = 0;               ///< mean of jsd over the compared layers (NaN without pairs)
  bool tokens_checked = false;       ///< token ids of every pair were compared and agreed
  int64_t sequences_paired = 0;      ///< sequences of the inputs that met one of OTHER's
  int64_t sequences_only_inputs = 0; ///< sequences of the inputs beyond OTHER's last
  int64_t sequences_only_other = 0;  ///< sequences of OTHER beyond the inputs' last
  int64_t unmatched_inputs = 0;      ///< rows of the inputs with no row of OTHER at their position
  int64_t unmatched_other = 0;       ///< rows of OTHER left unpaired
};

/// Everything `moeroute stats` prints and writes, derived from a RoutingStats.
struct StatsReport {
  std::string model_id, routing_rule;
  int num_experts = 0, top_k = 0;
  std::vector<LayerInfo> layers;
  int64_t tokens = 0, samples = 0;
  std::vector<std::string> sources;
  StatsOptions options;
  bool has_logits = false, has_weights = false, has_tokens = false;
  std::vector<std::string> notes;  ///< statistics left out and why
  std::vector<LayerStats> layer_stats;
  GlobalFrequency global;
  std::vector<CrossLayerStats> cross_layer;
  std::vector<TokenExpertStats> token_experts;
  std::vector<DatasetStats> datasets;
  std::vector<DatasetDivergence> dataset_divergence;
  std::vector<SampleStats> sample_stats;
  std::vector<WindowStats> windows;
  std::optional<AgainstStats> against;  ///< set by run_stats with --against (not part of the accumulator)
};

/// The accumulator. Not thread-safe; use one per thread and merge.
class RoutingStats {
 public:
  explicit RoutingStats(StatsOptions options = {});
  ~RoutingStats();
  RoutingStats(RoutingStats&&) noexcept;
  RoutingStats& operator=(RoutingStats&&) noexcept;

  /// Accumulates a chunk. `source` names where its sequences come from: sequences are identified
  /// by (source, sequence id), so a sequence continued in the next chunk of the same source is
  /// one sequence (capacity groups span the chunks), and one seen again later is refused. The
  /// first chunk fixes model, layers, experts and top-k; a chunk that differs throws InputError
  /// ("traces of different models").
  void add(const RouterTrace& chunk, const std::string& source = "");
  /// Adds another accumulator's state (same options and model). The result equals the state
  /// of one pass over both inputs. A sequence present in both throws InputError.
  void merge(RoutingStats other);
  /// Closes open capacity groups; add() may still follow (later chunks start new groups).
  void finish();

  bool empty() const;
  const StatsOptions& options() const;
  /// The report (calls finish()).
  StatsReport report();

  /// The state as the bytes of a stats state file (safetensors, docs/metrics.md "Stats state
  /// files"); canonical: equal states give equal bytes. Calls finish().
  std::string serialize();
  /// Reads a state file written from serialize(). Throws InputError naming the file.
  static RoutingStats load(const std::filesystem::path& file);
  /// Whether `file` is a stats state file (its safetensors metadata says so).
  static bool is_state_file(const std::filesystem::path& file);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace moeroute
