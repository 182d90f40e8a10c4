// Loading a model to record: a Hugging Face checkpoint directory (native LibTorch models,
// docs/native-models.md), a TorchScript export (.pt) or a built-in demo model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moeroute/generate.h"
#include "moeroute/tokenizer.h"

namespace moeroute {

struct ModelOptions {
  std::string device = "cpu";              ///< torch device: "cpu", "cuda", "cuda:1"
  std::string dtype = "auto";              ///< "auto", "float32"/"f32", "bfloat16"/"bf16", "float16"/"f16";
                                           ///< auto: TorchScript as stored; native: float32 on CPU, stored dtype on CUDA
  std::string device_map;                  ///< native only: "" = all on `device`; "auto" = layers over all CUDA devices
  std::vector<int64_t> gpu_memory;         ///< native device_map auto: usable bytes per GPU; empty = free memory − 10 %
  std::string experts = "auto";            ///< native: experts implementation auto|loop|gather|grouped (moe_experts.h)
  std::vector<std::string> gate_patterns;  ///< router module-path globs; empty = default_gate_patterns()
  std::string routing_rule;                ///< parse_routing_rule text; "" = from the export's config.json
  std::shared_ptr<const Tokenizer> tokenizer;  ///< tokenizer for an export; null = the model's own
  bool install_hooks = true;               ///< false runs the model unhooked (benchmarks; records nothing)
};

/// Names of the built-in models, without the "builtin:" prefix ("tiny-moe").
std::vector<std::string> builtin_model_names();

/// Loads "builtin:NAME", a Hugging Face checkpoint directory (a directory with config.json: native
/// Qwen3-MoE / gpt-oss) or a TorchScript file. Throws InputError when the file is missing or not
/// loadable, the device or dtype is unknown, no router is found or no routing rule is known, a
/// checkpoint is damaged or does not match its config, and UnsupportedError for an export's
/// forward signature or a model_type moeroute cannot drive.
std::unique_ptr<CausalLM> load_model(const std::string& model, const ModelOptions& options = {});

}  // namespace moeroute
