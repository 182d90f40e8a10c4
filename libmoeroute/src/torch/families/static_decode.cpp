#include "torch/families/static_decode.h"

#include <algorithm>
#include <atomic>

namespace moeroute::detail {

namespace {

std::atomic<bool> g_force_on_cpu{false};
std::atomic<int64_t> g_eager{0}, g_captured{0}, g_replayed{0};

}  // namespace

void static_decode_force_on_cpu(bool on) { g_force_on_cpu = on; }
bool static_decode_forced_on_cpu() { return g_force_on_cpu; }

StaticDecodeCounts static_decode_counts() { return {g_eager.load(), g_captured.load(), g_replayed.load()}; }

bool StaticDecode::Key::operator==(const Key& o) const {
  return rows == o.rows && capacity == o.capacity && cache_generation == o.cache_generation &&
         staging_generation == o.staging_generation && recorder == o.recorder && record_last == o.record_last &&
         want_logits == o.want_logits;
}

StaticDecode::StaticDecode(const c10::Device& device, at::ScalarType dtype, ExpertsImpl experts, bool graphs)
    : device_(device), dtype_(dtype), experts_(experts), graphs_(graphs && device.is_cuda() && CapturedStep::supported()) {}

StaticDecode::~StaticDecode() = default;

bool StaticDecode::applies(const ForwardRequest& request, const StepPlan& plan, const KvCache& cache) const {
  if (!graphs_ && !(device_.is_cpu() && static_decode_forced_on_cpu())) return false;
  if (plan.columns != 1 || (experts_ != ExpertsImpl::Auto && experts_ != ExpertsImpl::Gather)) return false;
  if (std::any_of(request.score_last.begin(), request.score_last.end(), [](int64_t n) { return n > 0; })) return false;
  return cache.capacity(plan.rows, device_, dtype_) >= plan.keys;
}

StaticDecode::Key StaticDecode::key(const StepPlan& fixed, const KvCache& cache, const ForwardRequest& request,
                                    const Recorder* recorder) const {
  Key k;
  k.rows = fixed.rows;
  k.capacity = fixed.keys;
  k.cache_generation = cache.generation();
  k.recorder = recorder;
  k.staging_generation = recorder ? recorder->staging_generation() : 0;
  if (recorder) k.record_last = request.record_last;
  k.want_logits = request.want_logits;
  return k;
}

at::Tensor StaticDecode::step(const StepPlan& plan, const at::Tensor& ids, const at::Tensor& positions,
                              const KvCache& cache, const ForwardRequest& request, Recorder* recorder,
                              const Body& body) {
  const int64_t B = plan.rows;
  // The inputs live in device buffers a capture reads; new buffers (another batch size) make
  // every capture stale.
  if (!inputs_.defined() || inputs_.size(1) != B) {
    inputs_ = at::empty({2, B}, at::TensorOptions().dtype(at::kLong).device(device_));
    real_ = at::ones({B, 1}, at::TensorOptions().dtype(at::kBool).device(device_));
    graph_.reset();
    warm_key_.reset();
    out_ = at::Tensor();
  }
  inputs_.copy_(at::stack({ids.reshape({B}), positions.reshape({B})}));
  StepPlan fixed = plan;
  fixed.keys = cache.capacity(B, device_, dtype_);
  fixed.write_positions = inputs_[1];
  const auto device_ids = inputs_[0].view({B, 1}), device_positions = inputs_[1].view({B, 1});
  auto run = [&] { return body(fixed, device_ids, device_positions, real_); };
  if (!graphs_) {
    ++g_eager;
    return run();
  }
  const Key now = key(fixed, cache, request, recorder);
  if (graph_ && graph_->captured() && now == graph_key_) {
    graph_->replay();
    if (recorder) recorder->observed_in_graph(routed_);
    ++g_replayed;
    return out_;
  }
  if (!graph_) graph_ = std::make_unique<CapturedStep>(device_);
  if (warm_key_ && now == *warm_key_) {
    out_ = at::Tensor();
    graph_->capture([&] { out_ = run(); });
    graph_key_ = now;
    routed_ = recorder && recorder->observed_routed() == 1;
    ++g_captured;
    return out_;
  }
  at::Tensor out;
  graph_->run([&] { out = run(); });
  // The key after the warm-up: it may have sized the recorder's staging.
  warm_key_ = key(fixed, cache, request, recorder);
  ++g_eager;
  return out;
}

}  // namespace moeroute::detail
