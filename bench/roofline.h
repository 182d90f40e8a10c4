// The memory roofline of a decode step and the compute roofline of a prefill, for bench_native
// (docs/performance.md, "Native models"): what a step must read, from the checkpoint's tensor
// shapes and the config, and the machine's read bandwidth and matmul FLOP/s, measured in the same
// run with the threads the model uses.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace bench {

/// What a step reads and computes, from a checkpoint's tensors and config (elements; MXFP4
/// blocks counted as the values they dequantise to, scales not at all; bytes as the model keeps
/// them: weight matrices in their storage dtype, the rest in the run dtype).
struct StepCost {
  double element_bytes = 4;       ///< run dtype (activations, KV cache, norms, routers, biases)
  double layer_elements = 0;      ///< attention, norms, routers, dense MLPs: all read every step
  double expert_elements = 0;     ///< all experts of all layers (a step reads the active ones)
  double head_elements = 0;       ///< final norm + lm_head (or the tied embedding)
  double layer_bytes = 0, expert_bytes = 0, head_bytes = 0;  ///< the same in bytes
  double hidden = 0;              ///< one embedding row
  double kv_per_key = 0;          ///< K and V elements of one cached position over full-attention layers
  double kv_per_key_sliding = 0;  ///< the same over sliding-window layers
  int64_t window = 0;             ///< their window (0 = none)
  int64_t experts = 0, top_k = 0, layers = 0, heads = 0, head_dim = 0;

  /// Bytes one decode step over `rows` rows must read at `keys` cached positions per row, with
  /// `active` distinct experts per MoE layer (top_k for one row).
  double decode_bytes(int64_t rows, double keys, double active) const;
  /// FLOPs (2 per multiply-add) of a prefill of `tokens` tokens: each through every layer matrix
  /// and its top_k experts, causal attention (q·k and p·v over the keys before it), lm_head for
  /// the last position only.
  double prefill_flops(int64_t tokens) const;
};

/// From DIR/config.json and the checkpoint's tensors (MXFP4 blocks counted as dequantised). The
/// weight matrices (ModelInfo::weight_dtype: attention, experts, dense MLPs, lm_head — not
/// routers, norms, biases) take `matrix_bytes` each, 0 = as weight_dtype auto keeps them (2 for a
/// tensor stored in 16 bits or MXFP4, else `element_bytes`).
StepCost step_cost(const std::filesystem::path& dir, int64_t element_bytes, int64_t matrix_bytes);

/// Best-of-5 read bandwidth (bytes/s) of a 512 MiB buffer summed by `threads` threads.
double read_bandwidth(int threads);

/// Best-of-5 FLOP/s of a float32 [1024 × 1024] · [1024 × 1024] LibTorch matmul on the current
/// intra-op threads.
double matmul_flops();

}  // namespace bench
