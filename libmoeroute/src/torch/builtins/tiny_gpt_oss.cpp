// builtin:tiny-gpt-oss: config.json text and checkpoint-layout tensors (float32, experts as MXFP4
// blocks/scales) built in memory, then loaded by the same parser and model code as a checkpoint.

#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/hf_config.h"
#include "moeroute/tokenizer.h"
#include "torch/families/gpt_oss.h"
#include "torch/builtins/builtins.h"
#include "torch/weights/weight_source.h"
#include "torch/builtins/weight_stream.h"

namespace moeroute::detail {

namespace {

constexpr const char* kName = "builtin:tiny-gpt-oss";
constexpr uint64_t kSeed = 0x6770742d6f737321;  // "gpt-oss!"

// Tensors in the order a checkpoint lists them, generated from one stream.
std::map<std::string, at::Tensor> make_tensors(const GptOssConfig& c) {
  WeightStream rng(kSeed);
  // uniform(±√3·std) has standard deviation std.
  auto w = [&](at::IntArrayRef shape, double std) { return rng.uniform(shape, std * std::sqrt(3.0)); };
  const int64_t H = c.hidden_size, V = c.vocab_size, E = c.num_experts, I = c.intermediate_size, D = c.head_dim;
  const int64_t Hq = c.num_attention_heads * D, Hkv = c.num_key_value_heads * D;
  const double fan_in = 1.0 / std::sqrt(static_cast<double>(H));
  std::map<std::string, at::Tensor> t;
  t["model.embed_tokens.weight"] = w({V, H}, 1.0);
  t["model.norm.weight"] = 1 + w({H}, 0.1);
  t["lm_head.weight"] = w({V, H}, fan_in);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    t[p + "input_layernorm.weight"] = 1 + w({H}, 0.1);
    t[p + "post_attention_layernorm.weight"] = 1 + w({H}, 0.1);
    for (const auto& [name, rows] : {std::pair<const char*, int64_t>{"q_proj", Hq}, {"k_proj", Hkv}, {"v_proj", Hkv}}) {
      t[p + "self_attn." + name + ".weight"] = w({rows, H}, fan_in);
      t[p + "self_attn." + name + ".bias"] = w({rows}, 0.1);
    }
    t[p + "self_attn.o_proj.weight"] = w({H, Hq}, 1.0 / std::sqrt(static_cast<double>(Hq)));
    t[p + "self_attn.o_proj.bias"] = w({H}, 0.1);
    t[p + "self_attn.sinks"] = w({c.num_attention_heads}, 1.0);
    // A wide router makes routing peaked and prompt-dependent.
    t[p + "mlp.router.weight"] = w({E, H}, 2 * fan_in);
    t[p + "mlp.router.bias"] = w({E}, 0.5);
    // MXFP4: random E2M1 codes; scales 2^-6 … 2^-3 give weights of standard deviation ≈ 0.2.
    const std::string x = p + "mlp.experts.";
    t[x + "gate_up_proj_blocks"] = rng.bytes({E, 2 * I, H / 32, 16}, 0, 255);
    t[x + "gate_up_proj_scales"] = rng.bytes({E, 2 * I, H / 32}, 121, 124);
    t[x + "gate_up_proj_bias"] = w({E, 2 * I}, 1.0);
    t[x + "down_proj_blocks"] = rng.bytes({E, H, I / 32, 16}, 0, 255);
    t[x + "down_proj_scales"] = rng.bytes({E, H, I / 32}, 121, 124);
    t[x + "down_proj_bias"] = w({E, H}, 0.1);
  }
  return t;
}

// Byte vocabulary + harmony's markers: <|endoftext|> 256, <|start|> 257, <|end|> 258,
// <|message|> 259, <|channel|> 260, <|return|> 261, <|call|> 262.
std::vector<std::string> special_tokens() {
  return {"<|endoftext|>", "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>"};
}

constexpr const char* kConfig = R"({
  "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss",
  "vocab_size": 263, "hidden_size": 64, "intermediate_size": 64, "head_dim": 16,
  "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
  "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
  "sliding_window": 16, "num_local_experts": 16, "num_experts_per_tok": 4,
  "attention_bias": true, "tie_word_embeddings": false, "rms_norm_eps": 1e-05,
  "max_position_embeddings": 4096, "rope_theta": 150000,
  "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                   "truncate": false, "original_max_position_embeddings": 128},
  "swiglu_limit": 7.0, "eos_token_id": 261, "pad_token_id": 256,
  "quantization_config": {"quant_method": "mxfp4"}, "torch_dtype": "float32"
})";

}  // namespace

std::unique_ptr<CausalLM> load_tiny_gpt_oss(const ModelOptions& options) {
  const auto config = parse_gpt_oss_config(kConfig, std::string(kName) + " config");
  NativeModelMeta meta;
  meta.model_id = kName;
  meta.what = kName;
  meta.tokenizer = options.tokenizer ? options.tokenizer : std::shared_ptr<const Tokenizer>(make_byte_tokenizer(special_tokens()));
  meta.chat_template = "gpt-oss";  // the byte tokenizer has harmony's markers
  meta.stop_token_ids = {256, 261, 262};  // <|endoftext|>, <|return|>, <|call|> (as gpt-oss' generation_config)
  const TensorMapWeights weights(make_tensors(config), kName);
  return make_gpt_oss(config, weights, std::move(meta), options);
}

}  // namespace moeroute::detail
