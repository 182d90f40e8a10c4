// config.json → Qwen3MoeConfig / GptOssConfig. Defaults and derived values follow the
// transformers 5.x configuration classes (configuration_qwen3_moe.py, configuration_gpt_oss.py,
// modeling_rope_utils.py's standardize_rope_params).
#include "moeroute/hf_config.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "io/json_input.h"
#include "io/text_file.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

using nlohmann::json;

using detail::JsonField;

// "<file>:<line>:<column>: field '<key>': <why>" for member `key` of `f` (present or not).
[[noreturn]] void invalid(const JsonField& f, std::string_view key, std::string_view why) { f.member(key).fail(why); }

// rope_theta + rope_scaling (transformers 4.x files) or rope_parameters (5.x files).
RopeConfig parse_rope(const JsonField& f, const std::string& what, double default_theta,
                      int64_t max_positions) {
  RopeConfig r;
  r.rope_theta = f.number_or("rope_theta", default_theta);
  r.partial_rotary_factor = f.number_or("partial_rotary_factor", 1.0);
  const char* key = nullptr;
  for (const char* k : {"rope_parameters", "rope_scaling"})
    if (f.has(k)) {
      key = k;
      break;
    }
  if (key) {
    const JsonField rp = f.at(key);
    if (!rp.is_object()) invalid(f, key, "must be an object or null");
    r.rope_type = rp.string_or("rope_type", rp.string_or("type", "default"));
    r.rope_theta = rp.number_or("rope_theta", r.rope_theta);
    r.partial_rotary_factor = rp.number_or("partial_rotary_factor", r.partial_rotary_factor);
    r.factor = rp.number_or("factor", 1.0);
    if (rp.has("attention_factor")) r.attention_factor = rp.number_or("attention_factor", 1.0);
    // transformers: `beta_fast or 32` — a 0 counts as absent.
    r.beta_fast = rp.number_or("beta_fast", 32.0);
    if (r.beta_fast == 0) r.beta_fast = 32.0;
    r.beta_slow = rp.number_or("beta_slow", 1.0);
    if (r.beta_slow == 0) r.beta_slow = 1.0;
    r.mscale = rp.number_or("mscale", 0.0);
    r.mscale_all_dim = rp.number_or("mscale_all_dim", 0.0);
    r.original_max_position_embeddings = rp.integer_or("original_max_position_embeddings", 0);
    r.truncate = rp.bool_or("truncate", true);
    if (r.rope_type != "default" && r.rope_type != "linear" && r.rope_type != "yarn")
      throw UnsupportedError(fmt::format("{}: field '{}.rope_type' is '{}'; supported: default, linear, yarn", what,
                                         key, r.rope_type));
    if (r.rope_type != "default" && !(r.factor > 0)) invalid(rp, "factor", "must be > 0");
  }
  if (r.rope_type == "yarn" && r.original_max_position_embeddings == 0)
    r.original_max_position_embeddings = f.integer_or("original_max_position_embeddings", max_positions);
  if (!(r.rope_theta > 0)) invalid(f, "rope_theta", "must be > 0");
  if (!(r.partial_rotary_factor > 0 && r.partial_rotary_factor <= 1))
    invalid(f, "partial_rotary_factor", "must be in (0, 1]");
  return r;
}

void positive(const JsonField& f, const char* key, int64_t v) {
  if (v <= 0) invalid(f, key, fmt::format("must be ≥ 1, got {}", v));
}

// The fields both families share. `d` carries the family's defaults on entry.
void parse_decoder(const JsonField& f, const std::string& what, double default_theta, DecoderConfig& d) {
  d.what = what;
  d.model_type = f.string_or("model_type", "");
  d.vocab_size = f.integer_or("vocab_size", d.vocab_size);
  d.hidden_size = f.integer_or("hidden_size", d.hidden_size);
  d.intermediate_size = f.integer_or("intermediate_size", d.intermediate_size);
  d.num_hidden_layers = f.integer_or("num_hidden_layers", d.num_hidden_layers);
  d.num_attention_heads = f.integer_or("num_attention_heads", d.num_attention_heads);
  d.num_key_value_heads = f.integer_or("num_key_value_heads", d.num_key_value_heads);
  positive(f, "vocab_size", d.vocab_size);
  positive(f, "hidden_size", d.hidden_size);
  positive(f, "intermediate_size", d.intermediate_size);
  positive(f, "num_hidden_layers", d.num_hidden_layers);
  positive(f, "num_attention_heads", d.num_attention_heads);
  positive(f, "num_key_value_heads", d.num_key_value_heads);
  if (d.num_attention_heads % d.num_key_value_heads != 0)
    invalid(f, "num_key_value_heads",
              fmt::format("({}) must divide num_attention_heads ({})", d.num_key_value_heads, d.num_attention_heads));
  // An explicit null head_dim means hidden / heads even where the class has a default (gpt_oss).
  if (d.head_dim <= 0 || (f.contains("head_dim") && f.at("head_dim").is_null()))
    d.head_dim = d.hidden_size / d.num_attention_heads;
  d.head_dim = f.integer_or("head_dim", d.head_dim);
  positive(f, "head_dim", d.head_dim);
  d.rms_norm_eps = f.number_or("rms_norm_eps", d.rms_norm_eps);
  if (!(d.rms_norm_eps > 0)) invalid(f, "rms_norm_eps", "must be > 0");
  d.max_position_embeddings = f.integer_or("max_position_embeddings", d.max_position_embeddings);
  positive(f, "max_position_embeddings", d.max_position_embeddings);
  d.rope = parse_rope(f, what, default_theta, d.max_position_embeddings);
  if (d.head_dim % 2 != 0) invalid(f, "head_dim", "must be even (rotary embedding)");
  d.attention_bias = f.bool_or("attention_bias", d.attention_bias);
  d.tie_word_embeddings = f.bool_or("tie_word_embeddings", d.tie_word_embeddings);
  d.hidden_act = f.string_or("hidden_act", d.hidden_act);
  if (d.hidden_act != "silu")
    throw UnsupportedError(fmt::format("{}: field 'hidden_act' is '{}'; only silu is supported", what, d.hidden_act));
  // transformers' attribute_map: num_experts ↔ num_local_experts.
  d.num_experts = f.integer_or("num_local_experts", f.integer_or("num_experts", d.num_experts));
  d.num_experts_per_tok = f.integer_or("num_experts_per_tok", f.integer_or("experts_per_token", d.num_experts_per_tok));
  positive(f, "num_experts", d.num_experts);
  positive(f, "num_experts_per_tok", d.num_experts_per_tok);
  if (d.num_experts_per_tok > d.num_experts)
    invalid(f, "num_experts_per_tok",
              fmt::format("({}) exceeds the number of experts ({})", d.num_experts_per_tok, d.num_experts));
  d.eos_token_ids = f.member("eos_token_id").integers();
  d.bos_token_id = (f.has("bos_token_id") ? std::optional<int64_t>(f.at("bos_token_id").integer()) : std::nullopt);
  d.pad_token_id = (f.has("pad_token_id") ? std::optional<int64_t>(f.at("pad_token_id").integer()) : std::nullopt);
  d.torch_dtype = f.string_or("dtype", f.string_or("torch_dtype", ""));
  if (f.has("quantization_config") && d.model_type != "gpt_oss")
    throw UnsupportedError(fmt::format("{}: quantized checkpoints (field 'quantization_config') are not supported "
                                       "for {}",
                                       what, d.model_type));
}

void check_layer_types(const JsonField& f, DecoderConfig& d) {
  if (d.layer_types.size() != static_cast<size_t>(d.num_hidden_layers))
    invalid(f, "layer_types", fmt::format("has {} entries for {} layers", d.layer_types.size(), d.num_hidden_layers));
  for (const auto& t : d.layer_types) {
    if (t != "full_attention" && t != "sliding_attention")
      invalid(f, "layer_types", fmt::format("has '{}'; expected full_attention or sliding_attention", t));
    if (t == "sliding_attention" && !d.sliding_window)
      invalid(f, "sliding_window", "is needed by a sliding_attention layer but is null");
  }
  if (d.sliding_window && *d.sliding_window <= 0) invalid(f, "sliding_window", "must be ≥ 1 or null");
}

}  // namespace

bool DecoderConfig::is_sliding(int64_t layer) const {
  return layer >= 0 && layer < static_cast<int64_t>(layer_types.size()) &&
         layer_types[static_cast<size_t>(layer)] == "sliding_attention";
}

bool Qwen3MoeConfig::is_moe_layer(int64_t layer) const {
  if (std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) != mlp_only_layers.end()) return false;
  return num_experts > 0 && (layer + 1) % decoder_sparse_step == 0;
}

std::vector<std::string> native_model_types() { return {"qwen3_moe", "gpt_oss"}; }

namespace {

JsonField parse_config(const std::string& config_json, const std::string& what) {
  auto f = detail::parse_json(config_json, what);
  f.expect_object("a Hugging Face config.json");
  return f;
}

std::string model_type_of(const JsonField& f) { return f.at("model_type").string(); }

Qwen3MoeConfig qwen3_moe_config(const JsonField& f, const std::string& what) {
  Qwen3MoeConfig q;  // transformers' Qwen3MoeConfig defaults
  q.vocab_size = 151936;
  q.hidden_size = 2048;
  q.intermediate_size = 6144;
  q.num_hidden_layers = 24;
  q.num_attention_heads = 32;
  q.num_key_value_heads = 4;
  q.rms_norm_eps = 1e-6;
  q.max_position_embeddings = 32768;
  q.num_experts = 128;
  q.num_experts_per_tok = 8;
  parse_decoder(f, what, 10000.0, q);
  if (q.model_type != "qwen3_moe") invalid(f, "model_type", fmt::format("is '{}', expected qwen3_moe", q.model_type));
  q.moe_intermediate_size = f.integer_or("moe_intermediate_size", q.moe_intermediate_size);
  positive(f, "moe_intermediate_size", q.moe_intermediate_size);
  q.norm_topk_prob = f.bool_or("norm_topk_prob", q.norm_topk_prob);
  q.decoder_sparse_step = f.integer_or("decoder_sparse_step", q.decoder_sparse_step);
  positive(f, "decoder_sparse_step", q.decoder_sparse_step);
  q.mlp_only_layers = f.member("mlp_only_layers").integers();
  for (int64_t l : q.mlp_only_layers)
    if (l < 0 || l >= q.num_hidden_layers)
      invalid(f, "mlp_only_layers", fmt::format("lists layer {} outside [0, {})", l, q.num_hidden_layers));
  q.use_sliding_window = f.bool_or("use_sliding_window", false);
  // Qwen3MoeConfig: sliding_window = sliding_window if use_sliding_window else None; the model
  // then applies it to every layer.
  q.sliding_window = q.use_sliding_window ? std::optional<int64_t>(f.integer_or("sliding_window", 4096)) : std::nullopt;
  q.layer_types.assign(static_cast<size_t>(q.num_hidden_layers),
                       q.sliding_window ? "sliding_attention" : "full_attention");
  check_layer_types(f, q);
  return q;
}

GptOssConfig gpt_oss_config(const JsonField& f, const std::string& what) {
  GptOssConfig g;  // transformers' GptOssConfig defaults
  g.vocab_size = 201088;
  g.hidden_size = 2880;
  g.intermediate_size = 2880;
  g.num_hidden_layers = 36;
  g.num_attention_heads = 64;
  g.num_key_value_heads = 8;
  g.head_dim = 64;
  g.rms_norm_eps = 1e-5;
  g.max_position_embeddings = 131072;
  g.attention_bias = true;
  g.num_experts = 128;
  g.num_experts_per_tok = 4;
  // GptOssConfig's rope default when the file has none.
  const bool has_rope = f.has("rope_scaling") || f.has("rope_parameters");
  parse_decoder(f, what, 150000.0, g);
  if (g.model_type != "gpt_oss") invalid(f, "model_type", fmt::format("is '{}', expected gpt_oss", g.model_type));
  if (!has_rope) {
    g.rope.rope_type = "yarn";
    g.rope.factor = 32.0;
    g.rope.beta_fast = 32.0;
    g.rope.beta_slow = 1.0;
    g.rope.truncate = false;
    g.rope.original_max_position_embeddings = 4096;
  }
  g.swiglu_limit = f.number_or("swiglu_limit", g.swiglu_limit);
  g.swiglu_alpha = f.number_or("swiglu_alpha", g.swiglu_alpha);
  g.sliding_window = f.has("sliding_window") ? std::optional<int64_t>(f.at("sliding_window").integer())
                     : f.contains("sliding_window") ? std::nullopt  // explicit null
                                                    : std::optional<int64_t>(128);
  if (f.has("layer_types")) g.layer_types = f.at("layer_types").strings();
  else  // GptOssConfig: sliding on even layers, full on odd ones
    for (int64_t i = 0; i < g.num_hidden_layers; ++i)
      g.layer_types.push_back((i + 1) % 2 ? "sliding_attention" : "full_attention");
  check_layer_types(f, g);
  if (f.has("quantization_config")) {
    const JsonField q = f.at("quantization_config");
    if (!q.is_object()) invalid(f, "quantization_config", "must be an object");
    g.quant_method = q.string_or("quant_method", "");
    if (g.quant_method != "mxfp4")
      q.member("quant_method")
          .unsupported(fmt::format("'{}'; only mxfp4 (or no quantization) is supported for gpt_oss", g.quant_method));
  }
  return g;
}

}  // namespace

std::string hf_model_type(const std::string& config_json, const std::string& what) {
  return model_type_of(parse_config(config_json, what));
}

Qwen3MoeConfig parse_qwen3_moe_config(const std::string& config_json, const std::string& what) {
  return qwen3_moe_config(parse_config(config_json, what), what);
}

GptOssConfig parse_gpt_oss_config(const std::string& config_json, const std::string& what) {
  return gpt_oss_config(parse_config(config_json, what), what);
}

HfModelConfig parse_hf_config(const std::string& config_json, const std::string& what) {
  const JsonField f = parse_config(config_json, what);
  const std::string type = model_type_of(f);
  if (type == "qwen3_moe") return qwen3_moe_config(f, what);
  if (type == "gpt_oss") return gpt_oss_config(f, what);
  f.at("model_type").unsupported(fmt::format(
      "'{}' cannot run natively (supported: {}); export it to TorchScript with tools/export_torchscript.py and load "
      "the .pt file instead (docs/export.md)",
      type, fmt::join(native_model_types(), ", ")));
}

HfModelConfig load_hf_config(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  return parse_hf_config(detail::read_text_file(path, {std::uint64_t{16} << 20, "a Hugging Face checkpoint directory needs a config.json"}),
                         path.string());
}

const DecoderConfig& decoder_config(const HfModelConfig& config) {
  return std::visit([](const auto& c) -> const DecoderConfig& { return c; }, config);
}

}  // namespace moeroute
