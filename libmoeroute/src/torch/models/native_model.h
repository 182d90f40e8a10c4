// Base of the native (LibTorch C++) decoder models: the CausalLM plumbing every family shares —
// KV-cache planning, the left-padded grid of new positions, masks and rotary tables, recorder
// windows, logits to the host — and option resolution (device, dtype, device_map, experts).
// A family implements run(): embedding → decoder layers → head over one ForwardContext.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "moeroute/causal_lm.h"
#include "moeroute/hf_config.h"
#include "moeroute/torch/recorder.h"
#include "torch/models/kv_cache.h"
#include "torch/models/layers.h"
#include "torch/models/moe_experts.h"
#include "torch/models/native_model_meta.h"

namespace moeroute::detail {

/// Options resolved against the config.
struct NativeSetup {
  c10::Device device{c10::kCPU};     ///< `--device` (the embedding's device unless device_map)
  at::ScalarType dtype = at::kFloat;  ///< parameter and activation dtype
  ExpertsImpl experts = ExpertsImpl::Auto;  ///< experts implementation
  bool device_map_auto = false;      ///< place layers over all CUDA devices
  std::vector<std::pair<std::string, c10::Device>> device_map;  ///< explicit map: module prefix → device
  std::vector<int64_t> gpu_memory;   ///< device_map budgets (empty = from CUDA)
};

/// Resolves ModelOptions: dtype auto is float32 on the CPU and the config's stored dtype
/// (bfloat16 when unknown) on CUDA; device_map auto spreads layers over the CUDA devices (the CPU
/// when LibTorch sees none). Throws InputError for a device that does not exist.
NativeSetup resolve_native_setup(const ModelOptions& options, const DecoderConfig& config);

/// Where each part of a model runs.
struct DevicePlan {
  c10::Device embed{c10::kCPU};
  std::vector<c10::Device> layers;
  c10::Device head{c10::kCPU};
};

/// All on setup.device; device_map auto: placed by place_layers() over the CUDA devices with
/// budgets from setup.gpu_memory or CUDA's free memory − 10 %; an explicit map: each part
/// ("model.embed_tokens", "model.layers.N", "lm_head") on the device of the longest entry that is
/// the part's name or a dotted prefix of it (every part must be covered). Byte counts are in the run dtype.
DevicePlan plan_devices(const NativeSetup& setup, int64_t embed_bytes, const std::vector<int64_t>& layer_bytes,
                        int64_t head_bytes);

/// Free bytes CUDA reports for device `index` (cudaMemGetInfo, looked up at run time so the CPU
/// build needs no CUDA headers). Throws InputError when the CUDA runtime is not loaded.
int64_t cuda_free_memory(int index);

class NativeModel : public CausalLM {
 public:
  const ModelInfo& info() const override { return info_; }
  const Tokenizer* tokenizer() const override { return tokenizer_.get(); }
  std::unique_ptr<RoutingRecorder> make_recorder(const RecorderOptions& options, int rows) const override;
  ForwardResult forward(const ForwardRequest& request, RoutingRecorder* recorder) override;

 protected:
  NativeModel(const DecoderConfig& config, NativeSetup setup, std::string what);

  /// Runs the grid `input_ids` [B, T] (on the embedding's device) through the decoder layers,
  /// passing router logits to `recorder` (may be null), reading/writing `cache`; returns the last
  /// layer's hidden states [B, T, H] (before the final norm).
  virtual at::Tensor run(const at::Tensor& input_ids, ForwardContext& ctx, KvCache& cache, Recorder* recorder) = 0;

  /// Final norm and lm_head: hidden states [..., H] on devices_.head → logits [..., V].
  virtual at::Tensor head(const at::Tensor& hidden) const = 0;

  /// log p(next token) of the scored positions (request.score_last) from the last layer's hidden
  /// states [B, T, H] of this forward's grid.
  std::vector<std::vector<double>> score(const at::Tensor& hidden, const ForwardRequest& request) const;

  /// Fills info_ fields common to the families (call at the end of the subclass constructor).
  void finish_info(NativeModelMeta meta, std::vector<LayerInfo> moe_layers, RoutingRule rule);

  DecoderConfig config_base_;  // a copy: the subclass's config is not built yet when this constructor runs
  NativeSetup setup_;
  std::string what_;
  DevicePlan devices_;
  std::unique_ptr<Rotary> rotary_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  ModelInfo info_;
  std::unique_ptr<KvCache> cache_;
};

}  // namespace moeroute::detail
