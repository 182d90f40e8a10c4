// Per-sequence key/value cache of a native model. The generation loops pass whole rows every
// step; plan() compares each row with the tokens whose keys/values are cached in its slot and
// reuses the longest common prefix, so a decode step computes only the new positions.
//
// Layout per layer: keys and values [rows, kv_heads, capacity, head_dim]; row b's position p is
// at index p (rows are not padded in the cache; the attention mask hides each row's unused tail).
// The forward grid holds only the new positions, right-aligned (left padding), as in the
// TorchScript path.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace moeroute::detail {

/// What one forward computes.
struct StepPlan {
  int64_t rows = 0;
  int64_t columns = 0;         ///< T: the grid's width = max fresh
  int64_t keys = 0;            ///< key positions attention reads = max(past + fresh)
  std::vector<int64_t> past;   ///< per row: cached positions reused
  std::vector<int64_t> fresh;  ///< per row: new positions computed (≥ 1), in the last columns of the grid
  /// A static step (families/static_decode.h): one new position per row, written at these
  /// positions [rows] (int64, on the layers' device) instead of at `past`, and `keys` = the
  /// cache's capacity, so no shape and no host value in the step changes from one token to the
  /// next (what a CUDA graph replay needs). Undefined otherwise.
  at::Tensor write_positions;

  bool static_step() const { return write_positions.defined(); }

  /// Grid column of row b's position `past[b]` (its first new position).
  int64_t first_column(int64_t b) const { return columns - fresh[static_cast<size_t>(b)]; }
};

class KvCache {
 public:
  explicit KvCache(int num_layers) : k_(static_cast<size_t>(num_layers)), v_(static_cast<size_t>(num_layers)) {}

  /// Plans a forward over `rows`: reuses each slot's cached prefix, but recomputes at least
  /// max(1, recompute_last[b]) trailing positions (their routing is recorded, or their logits are
  /// wanted). A different number of rows resets every slot. Slots keep only the reused prefix
  /// until commit().
  StepPlan plan(const std::vector<std::vector<int64_t>>& rows, const std::vector<int64_t>& recompute_last);

  /// Writes the fresh keys/values [rows, kv_heads, columns, head_dim] of `layer` (right-aligned
  /// as in the plan) and returns views of the cached keys/values [rows, kv_heads, plan.keys, head_dim].
  std::pair<at::Tensor, at::Tensor> update(int layer, const at::Tensor& k, const at::Tensor& v, const StepPlan& plan);

  /// For callers that write the fresh positions themselves (layers/cpu_decode.h): reserves
  /// `layer` for the plan as update() does and returns its whole buffers [rows, kv_heads,
  /// capacity, head_dim] (contiguous; row b's position p at index p).
  std::pair<at::Tensor, at::Tensor> buffers(int layer, int64_t kv_heads, int64_t head_dim,
                                            const at::TensorOptions& options, const StepPlan& plan);

  /// After a successful forward: the slots now hold `rows`.
  void commit(const std::vector<std::vector<int64_t>>& rows);

  /// Forgets everything (frees the buffers).
  void clear();

  /// Positions every layer's buffers hold on `device` in `dtype` for `rows` rows (0 when a layer
  /// has none, or others): a static step reads all of them.
  int64_t capacity(int64_t rows, const c10::Device& device, at::ScalarType dtype) const;
  /// Changes whenever a buffer is (re)allocated: a captured step that wrote into the old ones is stale.
  uint64_t generation() const { return generation_; }

 private:
  void reserve(int layer, int64_t rows, int64_t kv_heads, int64_t head_dim, const at::TensorOptions& options,
               int64_t keys);
  std::vector<std::vector<int64_t>> tokens_;  // per slot: tokens whose keys/values are stored
  std::vector<at::Tensor> k_, v_;             // per layer
  uint64_t generation_ = 0;
};

}  // namespace moeroute::detail
