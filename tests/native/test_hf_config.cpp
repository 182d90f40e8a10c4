// config.json parsing against the published config files of Qwen3-30B-A3B and gpt-oss-20b and
// the defaults of transformers' configuration classes.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "moeroute/error.h"
#include "moeroute/hf_config.h"

using namespace moeroute;

namespace {

// Qwen/Qwen3-30B-A3B config.json as published on the Hub.
const char* kQwen3_30B = R"({
  "architectures": ["Qwen3MoeForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "decoder_sparse_step": 1, "eos_token_id": 151645, "head_dim": 128,
  "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 6144,
  "max_position_embeddings": 40960, "max_window_layers": 48, "mlp_only_layers": [], "model_type": "qwen3_moe",
  "moe_intermediate_size": 768, "norm_topk_prob": true, "num_attention_heads": 32, "num_experts": 128,
  "num_experts_per_tok": 8, "num_hidden_layers": 48, "num_key_value_heads": 4, "output_router_logits": false,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0, "router_aux_loss_coef": 0.001,
  "sliding_window": null, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

// openai/gpt-oss-20b config.json as published (layer_types shortened to its 24 entries).
std::string gpt_oss_20b() {
  std::string layers;
  for (int i = 0; i < 24; ++i) layers += std::string(i ? "," : "") + (i % 2 ? "\"full_attention\"" : "\"sliding_attention\"");
  return R"({"architectures": ["GptOssForCausalLM"], "attention_bias": true, "attention_dropout": 0.0,
  "eos_token_id": 200002, "experts_per_token": 4, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2880,
  "initial_context_length": 4096, "initializer_range": 0.02, "intermediate_size": 2880, "layer_types": [)" +
         layers + R"(], "max_position_embeddings": 131072, "model_type": "gpt_oss", "num_attention_heads": 64,
  "num_experts_per_tok": 4, "num_hidden_layers": 24, "num_key_value_heads": 8, "num_local_experts": 32,
  "output_router_logits": false, "pad_token_id": 199999,
  "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
    "model.embed_tokens", "lm_head"], "quant_method": "mxfp4"}, "rms_norm_eps": 1e-05,
  "rope_scaling": {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0, "original_max_position_embeddings": 4096,
    "rope_type": "yarn", "truncate": false},
  "rope_theta": 150000, "router_aux_loss_coef": 0.9, "sliding_window": 128, "swiglu_limit": 7.0,
  "tie_word_embeddings": false, "transformers_version": "4.55.0.dev0", "use_cache": true, "vocab_size": 201088})";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception");
  return {};
}

}  // namespace

TEST_CASE("Qwen3-30B-A3B config.json", "[hf_config]") {
  const auto c = parse_qwen3_moe_config(kQwen3_30B, "q/config.json");
  CHECK(c.model_type == "qwen3_moe");
  CHECK(c.vocab_size == 151936);
  CHECK(c.hidden_size == 2048);
  CHECK(c.head_dim == 128);  // not hidden / heads = 64
  CHECK(c.num_attention_heads == 32);
  CHECK(c.num_key_value_heads == 4);
  CHECK(c.num_hidden_layers == 48);
  CHECK(c.num_experts == 128);
  CHECK(c.num_experts_per_tok == 8);
  CHECK(c.moe_intermediate_size == 768);
  CHECK(c.norm_topk_prob);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.rope.rope_type == "default");
  CHECK(c.rope.rope_theta == 1e6);
  CHECK_FALSE(c.sliding_window);
  CHECK(c.layer_types.size() == 48);
  CHECK_FALSE(c.is_sliding(0));
  CHECK(c.eos_token_ids == std::vector<int64_t>{151645});
  CHECK(c.bos_token_id == 151643);
  CHECK_FALSE(c.pad_token_id);
  CHECK(c.torch_dtype == "bfloat16");
  for (int l = 0; l < 48; ++l) CHECK(c.is_moe_layer(l));
  CHECK(std::holds_alternative<Qwen3MoeConfig>(parse_hf_config(kQwen3_30B, "x")));
}

TEST_CASE("qwen3_moe: sparse step, mlp_only_layers, sliding window and defaults", "[hf_config]") {
  auto text = replace(kQwen3_30B, R"("decoder_sparse_step": 1)", R"("decoder_sparse_step": 2)");
  text = replace(text, R"("mlp_only_layers": [])", R"("mlp_only_layers": [3])");
  auto c = parse_qwen3_moe_config(text, "x");
  CHECK_FALSE(c.is_moe_layer(0));
  CHECK(c.is_moe_layer(1));
  CHECK_FALSE(c.is_moe_layer(3));  // (3+1) % 2 == 0 but listed
  CHECK(c.is_moe_layer(5));
  // sliding_window only counts with use_sliding_window (Qwen3MoeConfig.__post_init__).
  text = replace(kQwen3_30B, R"("sliding_window": null)", R"("sliding_window": 64)");
  CHECK_FALSE(parse_qwen3_moe_config(text, "x").sliding_window);
  text = replace(text, R"("use_sliding_window": false)", R"("use_sliding_window": true)");
  c = parse_qwen3_moe_config(text, "x");
  CHECK(c.sliding_window == 64);
  CHECK(c.is_sliding(47));
  // Absent fields: the class defaults (norm_topk_prob false, rope_theta 10000, head_dim = hidden / heads).
  c = parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "hidden_size": 64, "num_attention_heads": 4})", "x");
  CHECK_FALSE(c.norm_topk_prob);
  CHECK(c.rope.rope_theta == 10000.0);
  CHECK(c.head_dim == 16);
  CHECK(c.num_experts == 128);
  CHECK(c.eos_token_ids.empty());
  // transformers 5 writes rope_parameters and dtype.
  c = parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "dtype": "float32",
      "rope_parameters": {"rope_type": "default", "rope_theta": 5000.0}, "eos_token_id": [1, 2]})",
                             "x");
  CHECK(c.rope.rope_theta == 5000.0);
  CHECK(c.torch_dtype == "float32");
  CHECK(c.eos_token_ids == std::vector<int64_t>{1, 2});
}

TEST_CASE("gpt-oss-20b config.json", "[hf_config]") {
  const auto cfg = parse_hf_config(gpt_oss_20b(), "g/config.json");
  REQUIRE(std::holds_alternative<GptOssConfig>(cfg));
  const auto& c = std::get<GptOssConfig>(cfg);
  CHECK(c.num_experts == 32);
  CHECK(c.num_experts_per_tok == 4);
  CHECK(c.hidden_size == 2880);
  CHECK(c.head_dim == 64);
  CHECK(c.num_attention_heads == 64);
  CHECK(c.num_key_value_heads == 8);
  CHECK(c.attention_bias);
  CHECK(c.sliding_window == 128);
  CHECK(c.is_sliding(0));
  CHECK_FALSE(c.is_sliding(1));
  CHECK(c.rope.rope_type == "yarn");
  CHECK(c.rope.rope_theta == 150000.0);
  CHECK(c.rope.factor == 32.0);
  CHECK(c.rope.original_max_position_embeddings == 4096);
  CHECK_FALSE(c.rope.truncate);
  CHECK_FALSE(c.rope.attention_factor);
  CHECK(c.swiglu_limit == 7.0);
  CHECK(c.swiglu_alpha == 1.702);
  CHECK(c.quant_method == "mxfp4");
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.pad_token_id == 199999);
  CHECK(c.eos_token_ids == std::vector<int64_t>{200002});
  CHECK(&decoder_config(cfg) == static_cast<const DecoderConfig*>(&c));
}

TEST_CASE("gpt_oss defaults: alternating layers, YaRN", "[hf_config]") {
  const auto c = parse_gpt_oss_config(R"({"model_type": "gpt_oss", "num_hidden_layers": 3})", "x");
  CHECK(c.layer_types == std::vector<std::string>{"sliding_attention", "full_attention", "sliding_attention"});
  CHECK(c.rope.rope_type == "yarn");
  CHECK(c.rope.rope_theta == 150000.0);
  CHECK(c.rope.factor == 32.0);
  CHECK_FALSE(c.rope.truncate);
  CHECK(c.sliding_window == 128);
  CHECK(c.quant_method.empty());
}

TEST_CASE("config.json errors name the file and the field", "[hf_config]") {
  auto msg = message_of<UnsupportedError>([] { parse_hf_config(R"({"model_type": "llama"})", "m/config.json"); });
  CHECK_THAT(msg, Catch::Contains("m/config.json") && Catch::Contains("llama") && Catch::Contains("qwen3_moe") &&
                      Catch::Contains("gpt_oss") && Catch::Contains("docs/export.md"));
  msg = message_of<InputError>([] { parse_hf_config("{", "m/config.json"); });
  CHECK_THAT(msg, Catch::Contains("m/config.json") && Catch::Contains("JSON"));
  msg = message_of<InputError>([] { parse_hf_config(R"({"hidden_size": 4})", "m/config.json"); });
  CHECK_THAT(msg, Catch::Contains("model_type"));
  msg = message_of<InputError>([] { parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "hidden_size": "big"})", "f"); });
  CHECK_THAT(msg, Catch::Contains("'hidden_size'") && Catch::Contains("integer") && Catch::Contains("\"big\""));
  msg = message_of<InputError>(
      [] { parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "num_key_value_heads": 5})", "f"); });
  CHECK_THAT(msg, Catch::Contains("num_key_value_heads"));
  msg = message_of<InputError>(
      [] { parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "num_experts": 4, "num_experts_per_tok": 8})", "f"); });
  CHECK_THAT(msg, Catch::Contains("num_experts_per_tok"));
  msg = message_of<InputError>(
      [] { parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "num_hidden_layers": 2, "mlp_only_layers": [2]})", "f"); });
  CHECK_THAT(msg, Catch::Contains("mlp_only_layers") && Catch::Contains("layer 2"));
  msg = message_of<UnsupportedError>([] {
    parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "rope_scaling": {"rope_type": "llama3", "factor": 8}})", "f");
  });
  CHECK_THAT(msg, Catch::Contains("rope_scaling.rope_type") && Catch::Contains("llama3"));
  msg = message_of<UnsupportedError>(
      [] { parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "hidden_act": "gelu"})", "f"); });
  CHECK_THAT(msg, Catch::Contains("hidden_act"));
  msg = message_of<UnsupportedError>([] {
    parse_qwen3_moe_config(R"({"model_type": "qwen3_moe", "quantization_config": {"quant_method": "fp8"}})", "f");
  });
  CHECK_THAT(msg, Catch::Contains("quantization_config"));
  msg = message_of<UnsupportedError>([] {
    parse_gpt_oss_config(R"({"model_type": "gpt_oss", "quantization_config": {"quant_method": "bnb"}})", "f");
  });
  CHECK_THAT(msg, Catch::Contains("quant_method") && Catch::Contains("bnb"));
  msg = message_of<InputError>([] {
    parse_gpt_oss_config(R"({"model_type": "gpt_oss", "num_hidden_layers": 2, "layer_types": ["full_attention"]})", "f");
  });
  CHECK_THAT(msg, Catch::Contains("layer_types") && Catch::Contains("1 entries for 2 layers"));
  msg = message_of<InputError>([] { load_hf_config("/nonexistent-dir"); });
  CHECK_THAT(msg, Catch::Contains("/nonexistent-dir/config.json"));
}
