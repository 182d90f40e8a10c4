// RouterTrace: the one data model between every source (recorder, importers) and every sink
// (analysis, writers, plots). Host-side arrays only; no LibTorch. See docs/trace-format.md.
#pragma once

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

/// Bookkeeping that travels with a trace.
struct TraceMeta {
  std::string model_id;      ///< hub id, path or builtin:… name the trace came from
  std::string source;        ///< producer: "torchscript", "native", "llama.cpp-log", …
  std::string routing_rule;  ///< RoutingRule that turned logits into ids/weights ("" = unknown)
  std::map<std::string, std::string> extra;  ///< free-form key → value, kept verbatim
};

/// Routing of one run: per layer × position the top-k expert ids, their gate weights and
/// optionally the full router logits over all experts.
///
/// Arrays are row-major: topk_ids/gate_weights are [layers, positions, top_k], router_logits is
/// [layers, positions, num_experts]. Positions [0, prompt_length) are the prompt, the rest were
/// generated (or teacher-forced). Optional arrays are empty when the source lacks them.
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

  int num_layers() const { return static_cast<int>(layers.size()); }
  int64_t generated_length() const { return num_positions - prompt_length; }

  bool has_token_ids() const { return !token_ids.empty(); }
  bool has_token_text() const { return !token_text.empty(); }
  bool has_gate_weights() const { return !gate_weights.empty(); }
  bool has_router_logits() const { return !router_logits.empty(); }

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
  /// names unique). Throws InputError naming `what` (a file name, say) and the problem.
  void validate(const std::string& what = "trace") const;

  /// Reorders layers by numeric index (then name), permuting every per-layer array with them.
  void sort_layers();
};

/// The numeric layer index in a module path: the last all-digit component, so
/// "model.layers.10.mlp.gate" → 10 and "blk.3" → 3. Returns -1 when there is none.
int layer_index_from_name(const std::string& name);

/// Natural ordering of layer names: digit runs compare as numbers ("layers.2" < "layers.10").
bool natural_less(const std::string& a, const std::string& b);

}  // namespace moeroute
