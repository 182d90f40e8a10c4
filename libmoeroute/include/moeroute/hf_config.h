// Hugging Face config.json of the model families moeroute runs natively (qwen3_moe, gpt_oss),
// parsed into plain structs holding every field the forward passes need. Absent fields take the
// defaults of the transformers configuration classes (transformers 5.x), so a config.json that
// transformers loads gives the same model here. docs/native-models.md lists the fields.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace moeroute {

/// Rotary position embedding parameters (`rope_theta` + `rope_scaling`, or transformers 5's
/// `rope_parameters`), normalised to one struct.
struct RopeConfig {
  std::string rope_type = "default";             ///< "default", "linear" or "yarn" (others are refused)
  double rope_theta = 10000.0;                   ///< base wavelength (gpt_oss default 150000)
  double factor = 1.0;                           ///< linear/yarn: context extension factor
  double partial_rotary_factor = 1.0;            ///< fraction of head_dim that is rotated
  // YaRN only (transformers' _compute_yarn_parameters):
  std::optional<double> attention_factor;        ///< cos/sin multiplier; unset = derived from factor/mscale
  double beta_fast = 32.0;                       ///< extrapolation boundary of the linear ramp
  double beta_slow = 1.0;                        ///< interpolation boundary of the linear ramp
  double mscale = 0.0;                           ///< 0 = absent
  double mscale_all_dim = 0.0;                   ///< 0 = absent
  int64_t original_max_position_embeddings = 0;  ///< pretraining context; 0 = max_position_embeddings
  bool truncate = true;                          ///< floor/ceil the correction range
};

/// Fields shared by the decoder-only families.
struct DecoderConfig {
  std::string model_type;               ///< "qwen3_moe" or "gpt_oss"
  std::string what;                     ///< how errors name the file ("…/config.json")
  int64_t vocab_size = 0;               ///< rows of embed_tokens / lm_head
  int64_t hidden_size = 0;              ///< residual width
  int64_t intermediate_size = 0;        ///< dense MLP width (gpt_oss: expert width)
  int64_t num_hidden_layers = 0;        ///< decoder layers
  int64_t num_attention_heads = 0;      ///< query heads
  int64_t num_key_value_heads = 0;      ///< key/value heads (GQA groups = heads / kv heads)
  int64_t head_dim = 0;                 ///< per-head width (config's head_dim, else hidden / heads)
  double rms_norm_eps = 1e-6;           ///< RMSNorm epsilon
  int64_t max_position_embeddings = 0;  ///< context length the model was configured for
  RopeConfig rope;                      ///< rotary embedding
  bool attention_bias = false;          ///< q/k/v/o projections carry biases
  std::optional<int64_t> sliding_window;  ///< window of "sliding_attention" layers; unset = none
  std::vector<std::string> layer_types;   ///< per layer: "full_attention" or "sliding_attention"
  bool tie_word_embeddings = false;       ///< lm_head shares embed_tokens' weight
  std::string hidden_act = "silu";        ///< activation (only silu is supported)
  int64_t num_experts = 0;                ///< routed experts per MoE layer (num_experts / num_local_experts)
  int64_t num_experts_per_tok = 0;        ///< experts chosen per token (k)
  std::vector<int64_t> eos_token_ids;     ///< eos_token_id (int or list); may be empty
  std::optional<int64_t> bos_token_id;    ///< unset when null/absent
  std::optional<int64_t> pad_token_id;    ///< unset when null/absent
  std::string torch_dtype;                ///< stored dtype ("bfloat16", …; `dtype` or `torch_dtype`); "" = unknown

  /// True when layer `layer` uses a sliding window.
  bool is_sliding(int64_t layer) const;
};

/// transformers' Qwen3MoeConfig.
struct Qwen3MoeConfig : DecoderConfig {
  int64_t moe_intermediate_size = 768;   ///< expert width
  bool norm_topk_prob = false;           ///< renormalise the top-k probabilities (Qwen3-30B-A3B: true)
  int64_t decoder_sparse_step = 1;       ///< layer i is MoE when (i + 1) % step == 0 …
  std::vector<int64_t> mlp_only_layers;  ///< … and i is not listed here (those use a dense MLP)
  bool use_sliding_window = false;       ///< sliding_window applies only when true

  /// Whether decoder layer `layer` has a sparse MoE block (else a dense MLP of intermediate_size).
  bool is_moe_layer(int64_t layer) const;
};

/// transformers' GptOssConfig.
struct GptOssConfig : DecoderConfig {
  double swiglu_limit = 7.0;   ///< clamp of the experts' gate (above) and up (both sides)
  double swiglu_alpha = 1.702;  ///< sigmoid gain of the clamped SwiGLU
  std::string quant_method;    ///< quantization_config.quant_method: "mxfp4" or "" (unquantised)
};

using HfModelConfig = std::variant<Qwen3MoeConfig, GptOssConfig>;

/// model_type values parse_hf_config accepts.
std::vector<std::string> native_model_types();

/// The `model_type` of a config.json text. Throws InputError naming `what` when it is not JSON or
/// has no string model_type.
std::string hf_model_type(const std::string& config_json, const std::string& what);

/// Parses and validates a config.json. `what` names the file in errors. Throws InputError for
/// malformed JSON, a field of the wrong type or an inconsistent value (naming the field), and
/// UnsupportedError for another model_type (listing the supported ones and pointing at the
/// TorchScript route, docs/export.md) or an unsupported rope_type / hidden_act / quantization.
HfModelConfig parse_hf_config(const std::string& config_json, const std::string& what);
Qwen3MoeConfig parse_qwen3_moe_config(const std::string& config_json, const std::string& what);
GptOssConfig parse_gpt_oss_config(const std::string& config_json, const std::string& what);

/// Reads `dir`/config.json and parses it. Throws InputError when the file is missing.
HfModelConfig load_hf_config(const std::filesystem::path& dir);

/// The DecoderConfig part of either family.
const DecoderConfig& decoder_config(const HfModelConfig& config);

}  // namespace moeroute
