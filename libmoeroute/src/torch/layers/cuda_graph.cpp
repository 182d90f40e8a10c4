#include "torch/layers/cuda_graph.h"

#include "moeroute/error.h"

#if MOEROUTE_CUDA_GRAPHS
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace moeroute::detail {

#if MOEROUTE_CUDA_GRAPHS

// Capture needs a stream other than the legacy default one; the caller's stream waits for the
// side stream's work (and the side stream for the caller's) through events, so KV-cache writes
// and host copies stay ordered with the eager forwards around it.
struct CapturedStep::Impl {
  c10::DeviceIndex index;
  c10::cuda::CUDAStream side;
  std::unique_ptr<at::cuda::CUDAGraph> graph;

  explicit Impl(const c10::Device& d)
      : index(d.index() < 0 ? c10::cuda::current_device() : d.index()),
        side(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index)) {}

  template <class F>
  void on_side(F&& work) {
    const auto caller = c10::cuda::getCurrentCUDAStream(index);
    at::cuda::CUDAEvent ready;
    ready.record(caller);
    ready.block(side);
    {
      c10::cuda::CUDAStreamGuard guard(side);
      work();
    }
    at::cuda::CUDAEvent done;
    done.record(side);
    done.block(caller);
  }
};

bool CapturedStep::supported() { return true; }

CapturedStep::CapturedStep(const c10::Device& device) {
  if (!device.is_cuda()) throw UnsupportedError("CUDA graphs: the step must run on a CUDA device");
  impl_ = std::make_unique<Impl>(device);
}

void CapturedStep::run(const std::function<void()>& body) { impl_->on_side(body); }

void CapturedStep::capture(const std::function<void()>& body) {
  impl_->graph.reset();
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  impl_->on_side([&] {
    graph->capture_begin();
    try {
      body();
    } catch (...) {
      try {
        graph->capture_end();
      } catch (...) {
      }
      throw;
    }
    graph->capture_end();
    graph->replay();
  });
  impl_->graph = std::move(graph);
}

void CapturedStep::replay() {
  if (!impl_->graph) throw Error("CUDA graphs: replay without a capture");
  impl_->on_side([&] { impl_->graph->replay(); });
}

bool CapturedStep::captured() const { return impl_->graph != nullptr; }

#else  // a CPU-only LibTorch: no graphs

struct CapturedStep::Impl {};

bool CapturedStep::supported() { return false; }

CapturedStep::CapturedStep(const c10::Device&) {
  throw UnsupportedError("CUDA graphs: this moeroute was built against a LibTorch without CUDA");
}

void CapturedStep::run(const std::function<void()>& body) { body(); }
void CapturedStep::capture(const std::function<void()>&) { throw UnsupportedError("CUDA graphs: not built"); }
void CapturedStep::replay() { throw UnsupportedError("CUDA graphs: not built"); }
bool CapturedStep::captured() const { return false; }

#endif

CapturedStep::~CapturedStep() = default;

}  // namespace moeroute::detail
