// What every importer shares: the context it runs in (file, options, report, bad-record
// policy) and the ChunkBuilder that turns rows into RouterTrace chunks of bounded size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "moeroute/error.h"
#include "moeroute/import.h"
#include "moeroute/trace.h"

namespace moeroute::detail {

struct ImportContext {
  std::filesystem::path path;
  std::string name;             // the path as errors show it
  const ImportOptions& options;
  ImportReport& report;
  int num_experts = 0;          // known expert count (option, or the first pass); 0 = not yet known
  bool scan_only = false;       // first pass of num_experts inference: rows are counted, not kept

  /// A malformed line or record: rethrown, or counted (and the first message kept) with
  /// skip_bad_lines.
  void bad_record(const InputError& error);
  /// Adds a line to report.notes once.
  void note(const std::string& text);
};

/// Thrown by ChunkBuilder::begin when neither the options nor the source give the expert count:
/// import_stream then runs a first pass to find the largest id.
struct NeedExpertCount {};

/// Which per-row arrays the chunks carry.
struct RowFields {
  bool segments = false;   ///< prompt/generated known per row
  bool token_ids = false;  ///< token ids known per row
  bool logits = false;     ///< router logits [layers, rows, experts]
};

/// One row's bookkeeping (the ids and logits go separately, layer-major).
struct RowInfo {
  int64_t sequence = 0;   ///< sequence id (request, pass, step)
  int64_t position = 0;   ///< position within the sequence
  uint8_t segment = RouterTrace::kSegmentPrompt;
  int64_t token = 0;      ///< token id (when RowFields::token_ids)
};

class ChunkBuilder {
 public:
  static constexpr int64_t kChunkBytes = int64_t{4} << 20;  ///< most bytes of per-layer arrays in one chunk (small enough for the allocator to reuse)

  ChunkBuilder(ImportContext& ctx, const std::function<void(RouterTrace&&)>& sink);

  /// Fixes the shape at the first rows. `num_experts` = 0: the context's (option or first pass);
  /// when that is unknown too, throws NeedExpertCount. A source that records E passes it and it
  /// must agree with --num-experts.
  void begin(std::vector<LayerInfo> layers, int top_k, int num_experts, RowFields fields);
  bool begun() const { return begun_; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  int top_k() const { return top_k_; }
  int num_experts() const { return num_experts_; }
  const std::vector<LayerInfo>& layers() const { return layers_; }

  /// Appends `n` rows. ids: [layers, n, top_k] with row stride `ids_row_stride` (≥ top_k) and
  /// layer stride `ids_layer_stride`; logits: [layers, n, num_experts] layer-major (null unless
  /// RowFields::logits); rows: n entries. Ids must already be checked to lie in [0, num_experts).
  void append(int64_t n, const int32_t* ids, int64_t ids_layer_stride, int64_t ids_row_stride,
              const float* logits, const RowInfo* rows);
  /// The label stored for sequence `id` (first call wins).
  void label_sequence(int64_t id, const std::string& label);
  /// Mutable bookkeeping of every chunk (source, model id, extra keys).
  TraceMeta& meta() { return meta_; }
  /// Expert ids are physical slots; `map` [layers, num_experts] maps them to logical experts
  /// (empty: the source has no map).
  void set_physical(std::vector<int32_t> map, int num_logical_experts);
  /// The largest id appended so far (-1 = none).
  int32_t max_id() const { return max_id_; }

  /// Emits the rows still buffered.
  void finish();

 private:
  void flush();

  ImportContext& ctx_;
  const std::function<void(RouterTrace&&)>& sink_;
  TraceMeta meta_;
  bool begun_ = false;
  std::vector<LayerInfo> layers_;
  int top_k_ = 0;
  int num_experts_ = 0;
  RowFields fields_;
  bool physical_ = false;
  std::vector<int32_t> physical_map_;
  int num_logical_ = 0;
  int64_t cap_ = 0;       // rows per chunk
  int64_t rows_ = 0;      // rows buffered
  std::vector<int32_t> ids_;     // [layers, cap, top_k]
  std::vector<float> logits_;    // [layers, cap, num_experts]
  std::vector<RowInfo> info_;    // [cap]
  std::unordered_map<int64_t, std::string> labels_;
  std::unordered_set<int64_t> seen_sequences_;  // distinct sequence ids (for the report)
  int64_t last_sequence_ = -1;
  int32_t max_id_ = -1;
};

/// Throws InputError "<where>: expert id <id> is not in [0, <E>) …" when an id is out of range
/// (E = 0: only negative ids are refused). `where` is called only on failure.
template <class Where>
inline void check_expert_ids(const int32_t* ids, int64_t n, int num_experts, const Where& where) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || (num_experts > 0 && id >= num_experts))
      throw InputError(where() + ": expert id " + std::to_string(id) +
                       (num_experts > 0 ? " is not in [0, " + std::to_string(num_experts) + ") (--num-experts)"
                                        : " is negative"));
  }
}

/// The layers of a source whose numbers are `source_index`: names "<prefix><n>" and indices
/// mapped through options.layer_map when one is given (its length must equal the layer count).
std::vector<LayerInfo> source_layers(const std::vector<int>& source_index, const std::string& prefix,
                                     ImportContext& ctx);

}  // namespace moeroute::detail
