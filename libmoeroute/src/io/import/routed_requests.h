// Shared by the vLLM and SGLang importers: one request's routed-expert arrays
// ([tokens, layers, top_k], token-major, as both engines return them) turned into rows with
// positions, segments and token ids, and the engines' all-decoder-layer layout (dense layers
// never written: all zeros) reduced to the MoE layers. Conventions: docs/import.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/import/chunk_builder.h"

namespace moeroute::detail {

/// [rows, layers, top_k] expert ids, token-major.
struct RoutedArray {
  std::vector<int32_t> ids;
  int64_t rows = 0;
  int layers = 0;
  int top_k = 0;
  bool empty() const { return rows == 0; }
};

/// Where a request's rows sit in its token sequence (prompt + output, P + G tokens).
enum class RowLayout {
  Split,         ///< `prompt` covers positions 0…, `routed` starts at P (vLLM ≤ 0.2x split arrays)
  RightAligned,  ///< `routed` covers [P + G − 1 − rows, P + G − 1): the last token is never forwarded
                 ///< (vLLM 0.33 routed_experts, SGLang meta_info.routed_experts)
  FromZero,      ///< `routed` covers positions 0… (nothing else known: a bare array)
};

struct RoutedRequest {
  std::string label;                           ///< request id (+ "#choice")
  std::string where;                           ///< "<file>:<line>" for errors
  RowLayout layout = RowLayout::FromZero;
  RoutedArray prompt;                          ///< Split only: the prompt's rows
  RoutedArray routed;                          ///< the (other) rows
  std::optional<std::vector<int64_t>> prompt_ids;  ///< the prompt's token ids
  std::optional<std::vector<int64_t>> output_ids;  ///< the generated token ids
  int64_t prompt_len = -1;  ///< prompt tokens when the ids are not known (-1 = unknown)
  int64_t output_len = -1;  ///< generated tokens when the ids are not known (-1 = unknown)
  int64_t first_position = 0;    ///< FromZero: position of the first row (a request read in blocks)
  bool continues_previous = false;  ///< the rows continue the previous request's sequence
};

/// Turns requests into rows of one ChunkBuilder: every request is one sequence.
class RoutedRequestWriter {
 public:
  /// `decoder_layers`: the layer axis numbers every decoder layer (dense ones hold zeros and are
  /// dropped); otherwise it numbers MoE layers (kept as they are, named by ordinal).
  RoutedRequestWriter(ImportContext& ctx, ChunkBuilder& out, bool decoder_layers);
  void write(RoutedRequest&& request);
  /// Requests skipped because the engine returned no routing for them.
  void skip_empty(const std::string& where);

 private:
  void start(const RoutedRequest& r, int layers, int top_k);

  ImportContext& ctx_;
  ChunkBuilder& out_;
  bool decoder_layers_;
  std::vector<int> kept_;   // source layer indices kept
  int source_layers_ = 0;
  int top_k_ = 0;
  bool has_segments_ = false, has_tokens_ = false;
  int64_t sequence_ = 0;
  int64_t empty_ = 0;
  std::vector<int32_t> block_;
  std::vector<RowInfo> rows_;
};

}  // namespace moeroute::detail
