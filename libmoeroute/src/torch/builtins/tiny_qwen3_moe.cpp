// builtin:tiny-qwen3-moe: config.json text and Hub-layout tensors built in memory, then loaded by
// the same parser and model code as a checkpoint directory.
#include <cmath>

#include <fmt/format.h>

#include "moeroute/hf_config.h"
#include "moeroute/tokenizer.h"
#include "torch/builtins/builtins.h"
#include "torch/families/qwen3_moe.h"
#include "torch/builtins/tiny_moe.h"
#include "torch/weights/weight_source.h"
#include "torch/builtins/weight_stream.h"

namespace moeroute::detail {

namespace {

// Byte vocabulary + <|endoftext|> (256), <|im_start|> (257), <|im_end|> (258), as builtin:tiny-moe.
constexpr const char* kConfig = R"({
  "model_type": "qwen3_moe", "vocab_size": 259, "hidden_size": 64, "intermediate_size": 128,
  "moe_intermediate_size": 32, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
  "head_dim": 16, "num_experts": 16, "num_experts_per_tok": 4, "norm_topk_prob": true,
  "decoder_sparse_step": 1, "mlp_only_layers": [], "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
  "max_position_embeddings": 4096, "tie_word_embeddings": false, "bos_token_id": 256,
  "eos_token_id": [256, 258], "torch_dtype": "float32"})";

constexpr uint64_t kSeed = 0x7177656e336d6f65;  // "qwen3moe"

std::map<std::string, at::Tensor> make_weights(const Qwen3MoeConfig& c) {
  WeightStream rng(kSeed);
  const double bound = 0.1 * std::sqrt(3.0);  // uniform with std 0.1
  auto mat = [&](int64_t out, int64_t in) { return rng.uniform({out, in}, bound); };
  auto norm = [&](int64_t n) { return rng.uniform({n}, 0.2) + 1.0; };
  const int64_t H = c.hidden_size, D = c.head_dim, I = c.moe_intermediate_size;
  std::map<std::string, at::Tensor> w;
  w["model.embed_tokens.weight"] = mat(c.vocab_size, H);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    w[p + "input_layernorm.weight"] = norm(H);
    w[p + "post_attention_layernorm.weight"] = norm(H);
    w[p + "self_attn.q_proj.weight"] = mat(c.num_attention_heads * D, H);
    w[p + "self_attn.k_proj.weight"] = mat(c.num_key_value_heads * D, H);
    w[p + "self_attn.v_proj.weight"] = mat(c.num_key_value_heads * D, H);
    w[p + "self_attn.o_proj.weight"] = mat(H, c.num_attention_heads * D);
    w[p + "self_attn.q_norm.weight"] = norm(D);
    w[p + "self_attn.k_norm.weight"] = norm(D);
    w[p + "mlp.gate.weight"] = mat(c.num_experts, H);
    for (int64_t e = 0; e < c.num_experts; ++e) {
      const std::string q = fmt::format("{}mlp.experts.{}.", p, e);
      w[q + "gate_proj.weight"] = mat(I, H);
      w[q + "up_proj.weight"] = mat(I, H);
      w[q + "down_proj.weight"] = mat(H, I);
    }
  }
  w["model.norm.weight"] = norm(H);
  w["lm_head.weight"] = mat(c.vocab_size, H);
  return w;
}

}  // namespace

std::unique_ptr<CausalLM> load_tiny_qwen3_moe(const ModelOptions& options) {
  const std::string id = "builtin:tiny-qwen3-moe";
  const auto config = parse_qwen3_moe_config(kConfig, id + " config");
  NativeModelMeta meta;
  meta.model_id = id;
  meta.what = id;
  meta.tokenizer = options.tokenizer ? options.tokenizer : std::shared_ptr<const Tokenizer>(make_byte_tokenizer(tiny_moe_special_tokens()));
  meta.stop_token_ids = config.eos_token_ids;
  meta.chat_template = "chatml";  // the byte tokenizer has ChatML's markers
  const TensorMapWeights weights(make_weights(config), id);
  return make_qwen3_moe(config, weights, std::move(meta), options);
}

}  // namespace moeroute::detail
