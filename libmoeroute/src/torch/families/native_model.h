// Base of the native (LibTorch C++) decoder models: the CausalLM plumbing every family shares —
// KV-cache planning, the left-padded grid of new positions, masks and rotary tables, recorder
// windows, logits to the host — option resolution (device, dtype, device_map, experts), device
// placement from the weights' sizes, and the forward itself over the shared decoder layer.
#pragma once

#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "moeroute/causal_lm.h"
#include "moeroute/hf_config.h"
#include "moeroute/torch/recorder.h"
#include "torch/families/native_model_meta.h"
#include "torch/families/static_decode.h"
#include "torch/layers/decoder_layer.h"
#include "torch/layers/kv_cache.h"
#include "torch/weights/weight_source.h"

namespace moeroute::detail {

/// Options resolved against the config.
struct NativeSetup {
  c10::Device device{c10::kCPU};     ///< `--device` (the embedding's device unless device_map)
  at::ScalarType dtype = at::kFloat;  ///< parameter and activation dtype
  std::optional<at::ScalarType> weights;  ///< weight_dtype when given: storage of the weight matrices (none = auto)
  ExpertsImpl experts = ExpertsImpl::Auto;  ///< experts implementation
  bool cuda_graphs = true;           ///< decode steps from CUDA graphs where they apply (families/static_decode.h)
  bool device_map_auto = false;      ///< place layers over all CUDA devices
  std::vector<std::pair<std::string, c10::Device>> device_map;  ///< explicit map: module prefix → device
  std::vector<int64_t> gpu_memory;   ///< device_map budgets (empty = from CUDA)
};

/// Resolves ModelOptions: dtype auto is float32 on the CPU and the config's stored dtype
/// (bfloat16 when unknown) on CUDA; device_map auto spreads layers over the CUDA devices (the CPU
/// when LibTorch sees none). Throws InputError for a device that does not exist, and for a
/// weight_dtype other than the dtype unless the model runs in float32 on the CPU only.
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

/// A native decoder model: embedding → decoder layers (layers/decoder_layer.h) → final norm and
/// lm_head. A family is a subclass whose constructor loads its layers and says its DecoderSpec.
class NativeModel : public CausalLM {
 public:
  const ModelInfo& info() const override { return info_; }
  const Tokenizer* tokenizer() const override { return tokenizer_.get(); }
  std::unique_ptr<RoutingRecorder> make_recorder(const RecorderOptions& options, int rows) const override;
  ForwardResult forward(const ForwardRequest& request, RoutingRecorder* recorder) override;

 protected:
  /// Resolves `options`, places the parts on devices from the weights' sizes, loads the embedding,
  /// final norm and lm_head (or ties it to the embedding).
  NativeModel(const DecoderConfig& config, const WeightSource& weights, NativeModelMeta meta,
              const ModelOptions& options);

  /// Loads `name` (shape checked, floating point) in the run dtype onto `device`.
  at::Tensor load(const WeightSource& w, const std::string& name, const std::vector<int64_t>& shape,
                  const std::string& why, const c10::Device& device) const;
  /// The same for a weight matrix (a projection's, the experts', the embedding): in
  /// matrix_dtype(w, name, device).
  at::Tensor load_matrix(const WeightSource& w, const std::string& name, const std::vector<int64_t>& shape,
                         const std::string& why, const c10::Device& device) const;
  /// How weight matrix `name` is kept on `device`: weight_dtype when given; auto keeps a bfloat16
  /// or float16 tensor as stored (and an MXFP4 one as bfloat16, which holds it exactly) when the
  /// run is float32 on the CPU, else the run dtype. Records the choice for ModelInfo::weight_dtype.
  at::ScalarType matrix_dtype(const WeightSource& w, const std::string& name, const c10::Device& device) const;

  /// Loads the tensors of layer i on its device (names relative to the layer).
  class LayerLoader {
   public:
    /// In the run dtype (norms, biases, routers, sinks).
    at::Tensor operator()(const std::string& name, const std::vector<int64_t>& shape, const std::string& why) const {
      return model_.load(w_, prefix_ + name, shape, why, device_);
    }
    /// A weight matrix, in its storage dtype (load_matrix).
    at::Tensor matrix(const std::string& name, const std::vector<int64_t>& shape, const std::string& why) const {
      return model_.load_matrix(w_, prefix_ + name, shape, why, device_);
    }

   private:
    friend class NativeModel;
    LayerLoader(const NativeModel& model, const WeightSource& w, std::string prefix, c10::Device device)
        : model_(model), w_(w), prefix_(std::move(prefix)), device_(device) {}
    const NativeModel& model_;
    const WeightSource& w_;
    std::string prefix_;
    c10::Device device_;
  };

  /// Layer i on its device with the norms and attention projections every family has; the
  /// family adds the rest through layer_loader(w, i).
  DecoderLayer base_layer(const WeightSource& w, int64_t i) const;
  LayerLoader layer_loader(const WeightSource& w, int64_t i) const;

  /// Ends construction: the layers, the spec they run with, and each MoE layer's router module
  /// name (recorded as "model.layers.N.mlp.<router>"); assigns the recorder slots in layer order.
  void finish(std::vector<DecoderLayer> layers, DecoderSpec spec, const std::string& router);

  NativeSetup setup_;

 private:
  /// The grid `input_ids` [B, T] through the decoder layers → the last hidden states [B, T, H].
  at::Tensor run(const at::Tensor& input_ids, ForwardContext& ctx, Recorder* recorder);
  /// Final norm and lm_head: hidden states [..., H] on devices_.head → logits [..., V].
  at::Tensor head(const at::Tensor& hidden) const;
  /// log p(next token) of the scored positions (request.score_last) from the last layer's hidden
  /// states [B, T, H] of this forward's grid.
  std::vector<std::vector<double>> score(const at::Tensor& hidden, const ForwardRequest& request) const;

  DecoderConfig config_;
  NativeModelMeta meta_;
  DevicePlan devices_;
  std::unique_ptr<Rotary> rotary_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  ModelInfo info_;
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<StaticDecode> static_decode_;  // decode steps with static shapes (CUDA graphs)
  at::Tensor embed_, final_norm_, lm_head_;
  std::vector<DecoderLayer> layers_;
  DecoderSpec spec_;
  mutable std::vector<at::ScalarType> matrix_dtypes_;  // every storage dtype matrix_dtype chose
};

}  // namespace moeroute::detail
