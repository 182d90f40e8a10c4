// RouterTrace: the one data model between every source (recorder, importers) and every sink
// (analysis, writers, plots). Host-side arrays only; no LibTorch. See docs/trace-format.md.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moeroute {

/// One MoE router layer of a model.
struct LayerInfo {
  std::string name;  ///< module path as the source names it, e.g. "model.layers.3.mlp.gate"
  int index = 0;     ///< numeric layer index (the integer in the name); layers sort by it
};

/// What `router_logits` holds (docs/trace-format.md, "Meaning").
enum class LogitsKind {
  Raw,            ///< the router's linear output over all experts, bias included, before any score function
  Scores,         ///< after the family's score function (sigmoid, + correction bias): what selection ranks
  Probabilities,  ///< softmax over all experts
};
/// "raw", "scores", "probabilities".
std::string to_string(LogitsKind k);
/// Inverse of to_string; throws InputError naming `what` otherwise.
LogitsKind parse_logits_kind(const std::string& text, const std::string& what = "logits kind");

/// Which numbering `topk_ids` uses. Engines that replicate experts (SGLang's EPLB) record
/// physical slots; RouterTrace::physical_to_logical maps them back.
enum class ExpertIdSpace { Logical, Physical };
std::string to_string(ExpertIdSpace s);

/// Per-sequence data of a trace that holds several sequences (dataset traces, imported requests).
struct SequenceInfo {
  int64_t id = 0;            ///< the sequence id rows carry in RouterTrace::sequence_ids
  std::string label;         ///< dataset, domain or request name ("" = none)
  double loss = std::nan(""); ///< mean next-token negative log-likelihood in nats (NaN = not measured)
  int64_t num_tokens = 0;    ///< tokens of the sequence in the trace
};

/// Bookkeeping that travels with a trace.
struct TraceMeta {
  std::string model_id;      ///< hub id, path or builtin:… name the trace came from
  std::string source;        ///< producer: "torchscript", "native", "llama.cpp-log", …
  std::string routing_rule;  ///< RoutingRule that turned logits into ids/weights ("" = unknown)
  std::map<std::string, std::string> extra;  ///< free-form key → value, kept verbatim
};

/// Routing of one run — or of many sequences side by side — per layer × row: the top-k expert
/// ids, their gate weights and optionally the full router logits over all experts.
///
/// Arrays are row-major: topk_ids/gate_weights are [layers, positions, top_k], router_logits is
/// [layers, positions, num_experts]. A "position" is one routed token (a row). With one sequence
/// (sequence_ids empty) rows are its positions 0…T−1, and [0, prompt_length) are the prompt, the
/// rest generated (or teacher-forced). With several, sequence_ids/positions/segments say per row
/// which sequence, which position in it and which segment (prompt_length is then 0). Optional
/// arrays are empty when the source lacks them. Meanings: docs/trace-format.md.
struct RouterTrace {
  TraceMeta meta;
  std::vector<LayerInfo> layers;        ///< row order of every per-layer array
  int num_experts = 0;                  ///< experts per MoE layer (the same in every layer)
  int top_k = 0;                        ///< experts chosen per token
  int64_t num_positions = 0;            ///< tokens routed per layer
  int64_t prompt_length = 0;            ///< leading positions that are prompt

  std::vector<int64_t> token_ids;       ///< [positions] or empty
  std::vector<std::string> token_text;  ///< [positions] decoded piece per token, or empty
  std::vector<int32_t> topk_ids;        ///< [layers, positions, top_k], expert ids, best first
  std::vector<float> gate_weights;      ///< [layers, positions, top_k] or empty
  std::vector<float> router_logits;     ///< [layers, positions, num_experts] or empty

  LogitsKind logits_kind = LogitsKind::Raw;            ///< what router_logits holds
  ExpertIdSpace id_space = ExpertIdSpace::Logical;     ///< what topk_ids number
  int num_logical_experts = 0;                         ///< Physical ids: logical experts (map targets); else 0
  std::vector<int32_t> physical_to_logical;            ///< [layers, num_experts] or empty (Physical only)

  std::vector<int64_t> sequence_ids;    ///< [positions] sequence (sample, request) of each row, or empty
  std::vector<int64_t> positions;       ///< [positions] position of each row within its sequence, or empty
  std::vector<uint8_t> segments;        ///< [positions] kSegmentPrompt / kSegmentGenerated per row, or empty
  std::vector<SequenceInfo> sequences;  ///< one entry per distinct sequence id, or empty

  static constexpr uint8_t kSegmentPrompt = 0;
  static constexpr uint8_t kSegmentGenerated = 1;

  int num_layers() const { return static_cast<int>(layers.size()); }
  int64_t generated_length() const { return num_positions - prompt_length; }

  bool has_token_ids() const { return !token_ids.empty(); }
  bool has_token_text() const { return !token_text.empty(); }
  bool has_gate_weights() const { return !gate_weights.empty(); }
  bool has_router_logits() const { return !router_logits.empty(); }
  bool has_sequences() const { return !sequence_ids.empty(); }

  /// Row `row`'s sequence id (0 for a single-sequence trace), its position in that sequence and
  /// whether it belongs to the prompt.
  int64_t sequence_of(int64_t row) const { return sequence_ids.empty() ? 0 : sequence_ids[static_cast<size_t>(row)]; }
  int64_t position_of(int64_t row) const { return positions.empty() ? row : positions[static_cast<size_t>(row)]; }
  bool is_prompt(int64_t row) const {
    return segments.empty() ? row < prompt_length : segments[static_cast<size_t>(row)] == kSegmentPrompt;
  }

  /// Names of the arrays present, in a fixed order ("topk_ids", "gate_weights", …).
  std::vector<std::string> fields() const;

  const int32_t* topk_ids_at(int layer, int64_t pos) const {
    return topk_ids.data() + (layer * num_positions + pos) * top_k;
  }
  const float* gate_weights_at(int layer, int64_t pos) const {
    return gate_weights.data() + (layer * num_positions + pos) * top_k;
  }
  const float* router_logits_at(int layer, int64_t pos) const {
    return router_logits.data() + (layer * num_positions + pos) * num_experts;
  }

  /// Sizes every present array for the current shape; `with_weights`/`with_logits` choose the
  /// optional ones. Contents are zero.
  void allocate(bool with_weights, bool with_logits);

  /// Checks every invariant (array sizes, expert ids in range, prompt_length ≤ positions, layer
  /// names unique, per-row arrays consistent, physical ids mapped). Throws InputError naming `what`
  /// (a file name, say) and the problem.
  void validate(const std::string& what = "trace") const;

  /// Reorders layers by numeric index (then name), permuting every per-layer array with them.
  void sort_layers();

 private:
  void validate_rows(const std::string& what) const;
  void validate_id_space(const std::string& what) const;
};

/// The numeric layer index in a module path: the last all-digit component, so
/// "model.layers.10.mlp.gate" → 10 and "blk.3" → 3. Returns -1 when there is none.
int layer_index_from_name(const std::string& name);

/// Natural ordering of layer names: digit runs compare as numbers ("layers.2" < "layers.10").
bool natural_less(const std::string& a, const std::string& b);

}  // namespace moeroute
