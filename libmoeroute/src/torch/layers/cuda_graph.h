// One forward captured as a CUDA graph and replayed (LibTorch's at::cuda::CUDAGraph), for the
// native models' decode steps (families/static_decode.h). The header needs no CUDA headers: a
// build against a CPU-only LibTorch compiles the stub, where supported() is false.
#pragma once

#include <functional>
#include <memory>

#include <torch/torch.h>

namespace moeroute::detail {

class CapturedStep {
 public:
  /// Built against a LibTorch with CUDA graphs (MOEROUTE_CUDA_GRAPHS)?
  static bool supported();

  /// For CUDA device `device`; throws UnsupportedError where !supported().
  explicit CapturedStep(const c10::Device& device);
  ~CapturedStep();
  CapturedStep(const CapturedStep&) = delete;
  CapturedStep& operator=(const CapturedStep&) = delete;

  /// Runs `body` eagerly on this object's side stream (the warm-up a capture needs: cuBLAS
  /// handles and workspaces, the allocator's blocks), ordered after and before the work of the
  /// caller's stream.
  void run(const std::function<void()>& body);
  /// Captures `body` on the side stream (nothing runs: tensors it creates are the graph's static
  /// outputs, overwritten by each replay), then replays it once. Replaces an earlier capture.
  void capture(const std::function<void()>& body);
  /// Replays the capture, ordered like run(). Throws Error when nothing is captured.
  void replay();
  bool captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moeroute::detail
