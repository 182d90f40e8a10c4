// builtin:tiny-moe — a small Qwen3-MoE-shaped language model built in C++ as a TorchScript
// module with transformers' module names, deterministic weights and a byte-level vocabulary.
// It exists so moeroute's main job runs anywhere without network or GPU (docs/builtin-models.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/script.h>

#include "moeroute/causal_lm.h"

namespace moeroute::detail {

struct TinyMoeConfig {
  int64_t hidden = 64;                ///< residual width
  int64_t layers = 4;                 ///< decoder layers, each with a MoE block
  int64_t heads = 4;                  ///< attention heads (head dim = hidden / heads)
  int64_t experts = 16;               ///< experts per MoE block
  int64_t top_k = 4;                  ///< experts per token (softmax → top-k → renormalise)
  int64_t intermediate = 32;          ///< expert hidden width
  uint64_t seed = 0x6d6f65726f757465;  ///< SplitMix64 seed of every weight ("moeroute")
};

/// Special tokens after the 256 bytes: ids 256, 257, 258.
std::vector<std::string> tiny_moe_special_tokens();
inline constexpr int64_t kTinyMoeVocab = 259;

/// The module: forward(input_ids [B,T] int64, attention_mask: Optional [B,T]) → logits [B,T,259].
torch::jit::Module build_tiny_moe(const TinyMoeConfig& config = {});

}  // namespace moeroute::detail
