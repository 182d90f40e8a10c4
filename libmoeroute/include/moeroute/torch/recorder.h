// Recorder (for LibTorch users; implemented in the torch library): the RoutingRecorder of the
// LibTorch backends. It receives router logits per MoE layer per forward pass on the model's
// device — from hooks (it applies the routing rule there) or from a native MoE block together
// with the ids and weights that block used — and collects ids, gate weights and (optionally) the
// logits into RouterTraces. No host synchronisation per layer: on CUDA, results go to
// preallocated device buffers and are copied to pinned host memory asynchronously once per
// forward; the host waits on that copy at most once per forward (docs/recording.md).
// at::Tensor is only declared, so including this header does not pull in LibTorch's headers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "moeroute/causal_lm.h"
#include "moeroute/routing.h"
#include "moeroute/trace.h"

namespace at {
class Tensor;
}

namespace moeroute {

/// Which columns of one sequence's row in a forward's [batch, seq_len] grid are recorded.
struct RowWindow {
  int64_t column = 0;  ///< first recorded column (left padding included)
  int64_t count = 0;   ///< consecutive columns recorded this forward; 0 = none
};

class Recorder final : public RoutingRecorder {
 public:
  /// `gates` are the model's router layers in hook-slot order (the slot a hook passes to
  /// observe() is the index here). `rows` is the number of sequences recorded side by side.
  /// Throws InputError for an unknown layer in options.layers or a top_k the experts cannot give.
  Recorder(std::vector<LayerInfo> gates, int num_experts, RoutingRule rule, RecorderOptions options, int rows = 1);
  ~Recorder() override;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Cheap filter hooks call first: is this slot recorded at all?
  bool wants(int slot) const;

  /// Starts a forward over a [batch, seq_len] grid; windows[r] says which columns of batch row r
  /// are appended to sequence r (batch == rows). Positions are appended in call order.
  void begin_forward(int64_t batch, int64_t seq_len, std::vector<RowWindow> windows);

  /// Router logits of `slot` for the whole grid: [batch·seq_len, E] or [batch, seq_len, E], any
  /// float dtype, any device. Only enqueues device work.
  void observe(int slot, const at::Tensor& router_logits);

  /// The same from a model that routed itself: `ids` [batch·seq_len, k] (int64, best first) and
  /// `weights` [batch·seq_len, k] (float32) are what its experts used, recorded as they are (no
  /// second evaluation of the rule). With a recorder top_k other than the model's k the rule runs
  /// here instead. All layers of one forward must be observed the same way.
  void observe(int slot, const at::Tensor& router_logits, const at::Tensor& ids, const at::Tensor& weights);

  /// Ends the forward: checks every wanted layer was observed exactly once and starts the copy
  /// to the host (on CPU: copies now).
  void end_forward();

  /// For native decode steps replayed from a CUDA graph (docs/gpu.md): the staging copies of the
  /// captured forward's observe() calls are in the graph and only the host's bookkeeping is
  /// missing — counts every recorded layer as observed once, with the model's ids and weights
  /// when `routed` (as the captured calls were). Call between begin_forward and end_forward.
  void observed_in_graph(bool routed);
  /// Whether this forward's observe() calls so far gave the model's ids and weights (1), logits
  /// only (0), or none happened (-1).
  int observed_routed() const;
  /// Changes whenever the device staging buffers are reallocated: a captured forward that
  /// copies into the old ones is stale. 0 until a forward staged.
  uint64_t staging_generation() const;

  /// Waits for outstanding copies and returns sequence `row`'s routing so far: layers sorted by
  /// numeric index, positions in recording order, prompt_length 0 and no tokens (callers fill
  /// meta, tokens and prompt_length).
  RouterTrace trace(int row) override;

  /// The recorded layers, sorted by numeric index, and the effective rule (top_k applied).
  const std::vector<LayerInfo>& layers() const override;
  const RoutingRule& rule() const override;

 private:
  void stage(int slot, const at::Tensor& router_logits, const at::Tensor* ids, const at::Tensor* weights);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Makes `recorder` the target of the hooks (moeroute::observe) run by this thread while in scope;
/// restores the previous one on exit. nullptr disables recording.
class ActiveRecorder {
 public:
  explicit ActiveRecorder(Recorder* recorder);
  ~ActiveRecorder();
  ActiveRecorder(const ActiveRecorder&) = delete;
  ActiveRecorder& operator=(const ActiveRecorder&) = delete;

  /// The recorder hooks on this thread report to, or nullptr.
  static Recorder* current();

 private:
  Recorder* previous_;
};

}  // namespace moeroute
