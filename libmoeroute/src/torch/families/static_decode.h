// Decode steps with static shapes, replayed from CUDA graphs (docs/gpu.md, "CUDA graphs").
// Batch-1 decode of a native model on a GPU is launch-bound: hundreds of small kernels per token,
// each shorter than its launch. When every row adds one position and the KV cache need not grow,
// the forward runs as a *static step*: the new tokens and positions come from device buffers, the
// KV cache is written at positions read on the device and attention reads the cache's whole
// capacity under the mask (StepPlan::write_positions), and the experts run as `gather` — nothing
// in the step but buffer contents changes from one token to the next, and nothing waits for the
// host. On CUDA such a step is captured once as a CUDA graph (layers/cuda_graph.h), the recorder's
// staging copies inside it, and replayed: one launch per token. A capture is made for a shape at
// its second static step (the first is the warm-up a capture needs) and is kept while the rows,
// the cache's buffers, the recorder's staging and what is recorded stay the same.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "moeroute/causal_lm.h"
#include "moeroute/torch/recorder.h"
#include "torch/layers/cuda_graph.h"
#include "torch/layers/kv_cache.h"

namespace moeroute::detail {

class StaticDecode {
 public:
  /// For a model whose layers all run on `device` in `dtype`; `graphs`: capture and replay
  /// (CUDA only). Without graphs, static steps run only where static_decode_force_on_cpu() says.
  StaticDecode(const c10::Device& device, at::ScalarType dtype, ExpertsImpl experts, bool graphs);
  ~StaticDecode();

  /// Whether the forward of `request` planned as `plan` runs as a static step: every row computes
  /// one new position, nothing is scored, the experts implementation is auto or gather, and the
  /// cache already holds the keys on this device.
  bool applies(const ForwardRequest& request, const StepPlan& plan, const KvCache& cache) const;

  /// The forward body on the static plan and device inputs (ids and positions [rows, 1]); returns
  /// what the caller reads after the step (the last column's logits, or an undefined tensor).
  using Body = std::function<at::Tensor(const StepPlan&, const at::Tensor& ids, const at::Tensor& positions,
                                        const at::Tensor& real)>;
  /// Runs one static step between the recorder's begin_forward and end_forward: eagerly, as a
  /// warm-up, captured, or replayed. `ids` and `positions` are the host grid [rows, 1].
  at::Tensor step(const StepPlan& plan, const at::Tensor& ids, const at::Tensor& positions, const KvCache& cache,
                  const ForwardRequest& request, Recorder* recorder, const Body& body);

 private:
  struct Key {
    int64_t rows = 0, capacity = 0;
    uint64_t cache_generation = 0, staging_generation = 0;
    const Recorder* recorder = nullptr;
    std::vector<int64_t> record_last;
    bool want_logits = false;
    bool operator==(const Key& o) const;
  };
  /// What a capture depends on, for the static plan `fixed` (keys = the cache's capacity).
  Key key(const StepPlan& fixed, const KvCache& cache, const ForwardRequest& request, const Recorder* recorder) const;

  c10::Device device_;
  at::ScalarType dtype_;
  ExpertsImpl experts_;
  bool graphs_;
  at::Tensor inputs_, real_;        // device [2, rows] int64 (ids, positions) and [rows, 1] true
  std::unique_ptr<CapturedStep> graph_;
  std::optional<Key> warm_key_;  // the shape of the last warm-up, which the next step may capture
  Key graph_key_;                // the shape graph_ captured (when graph_->captured())
  at::Tensor out_;       // the capture's output
  bool routed_ = false;  // the capture's observe() calls gave the model's ids
};

/// Tests: static steps on the CPU as well (run eagerly: there are no graphs there).
void static_decode_force_on_cpu(bool on);
bool static_decode_forced_on_cpu();

/// Static steps since the process started, by how they ran.
struct StaticDecodeCounts {
  int64_t eager = 0;     ///< without a graph (the CPU, or a capture's warm-up)
  int64_t captured = 0;  ///< captured (and replayed once)
  int64_t replayed = 0;  ///< replayed from an earlier capture
};
StaticDecodeCounts static_decode_counts();

}  // namespace moeroute::detail
