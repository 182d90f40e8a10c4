// moeroute::observe: identity on the router logits that hands them to the thread's active
// Recorder. CONSERVATIVE alias analysis keeps the JIT from treating it as pure (and removing or
// reordering it).
#include "torch/torchscript/observe_op.h"

#include "moeroute/torch/recorder.h"

namespace moeroute::detail {

namespace {

at::Tensor observe(const at::Tensor& logits, int64_t slot) {
  Recorder* r = ActiveRecorder::current();
  if (r != nullptr && r->wants(static_cast<int>(slot))) r->observe(static_cast<int>(slot), logits);
  return logits;
}

}  // namespace

void ensure_observe_op_registered() {}

}  // namespace moeroute::detail

TORCH_LIBRARY(moeroute, m) {
  m.def(torch::schema("moeroute::observe(Tensor logits, int slot) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE),
        TORCH_FN(moeroute::detail::observe));
}
