// The moeroute::observe custom op that hooks insert into TorchScript graphs.
#pragma once

namespace moeroute::detail {

/// Qualified name of the op: "moeroute::observe(Tensor logits, int slot) -> Tensor".
inline constexpr const char* kObserveOp = "moeroute::observe";

/// Defined in the op's translation unit: calling it makes a static link keep that unit, and with
/// it the TORCH_LIBRARY registration.
void ensure_observe_op_registered();

}  // namespace moeroute::detail
