// config.json → Qwen3MoeConfig / GptOssConfig. Defaults and derived values follow the
// transformers 5.x configuration classes (configuration_qwen3_moe.py, configuration_gpt_oss.py,
// modeling_rope_utils.py's standardize_rope_params).
#include "moeroute/hf_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "moeroute/error.h"

namespace moeroute {

namespace {

using nlohmann::json;

// Typed access to one JSON object's fields; every error names the file and the field.
class Fields {
 public:
  Fields(const json& obj, std::string what, std::string prefix = "")
      : obj_(obj), what_(std::move(what)), prefix_(std::move(prefix)) {}

  bool has(const char* key) const { return obj_.contains(key) && !obj_[key].is_null(); }
  const json& at(const char* key) const { return obj_[key]; }

  int64_t integer(const char* key, int64_t fallback) const {
    if (!has(key)) return fallback;
    const auto& v = obj_[key];
    if (!v.is_number_integer()) fail(key, "an integer", v);
    return v.get<int64_t>();
  }
  std::optional<int64_t> opt_integer(const char* key) const {
    if (!has(key)) return std::nullopt;
    return integer(key, 0);
  }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = obj_[key];
    if (!v.is_number()) fail(key, "a number", v);
    return v.get<double>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& v = obj_[key];
    if (!v.is_boolean()) fail(key, "true or false", v);
    return v.get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const auto& v = obj_[key];
    if (!v.is_string()) fail(key, "a string", v);
    return v.get<std::string>();
  }
  std::vector<int64_t> int_list(const char* key) const {  // an int or a list of ints
    std::vector<int64_t> out;
    if (!has(key)) return out;
    const auto& v = obj_[key];
    if (v.is_number_integer()) return {v.get<int64_t>()};
    if (!v.is_array()) fail(key, "an integer or a list of integers", v);
    for (const auto& x : v) {
      if (!x.is_number_integer()) fail(key, "a list of integers", v);
      out.push_back(x.get<int64_t>());
    }
    return out;
  }
  std::vector<std::string> string_list(const char* key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    const auto& v = obj_[key];
    if (!v.is_array()) fail(key, "a list of strings", v);
    for (const auto& x : v) {
      if (!x.is_string()) fail(key, "a list of strings", v);
      out.push_back(x.get<std::string>());
    }
    return out;
  }
  [[noreturn]] void invalid(const char* key, const std::string& why) const {
    throw InputError(fmt::format("{}: field '{}{}' {}", what_, prefix_, key, why));
  }

 private:
  [[noreturn]] void fail(const char* key, const char* expected, const json& got) const {
    std::string text = got.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    invalid(key, fmt::format("must be {}, got {}", expected, text));
  }

  const json& obj_;
  std::string what_;
  std::string prefix_;
};

json parse_json(const std::string& text, const std::string& what) {
  json c;
  try {
    c = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", what, e.what()));
  }
  if (!c.is_object()) throw InputError(fmt::format("{}: expected a JSON object", what));
  return c;
}

// rope_theta + rope_scaling (transformers 4.x files) or rope_parameters (5.x files).
RopeConfig parse_rope(const Fields& f, const json& c, const std::string& what, double default_theta,
                      int64_t max_positions) {
  RopeConfig r;
  r.rope_theta = f.number("rope_theta", default_theta);
  r.partial_rotary_factor = f.number("partial_rotary_factor", 1.0);
  const char* key = nullptr;
  for (const char* k : {"rope_parameters", "rope_scaling"})
    if (f.has(k)) {
      key = k;
      break;
    }
  if (key) {
    const json& p = c[key];
    if (!p.is_object()) f.invalid(key, "must be an object or null");
    const Fields rp(p, what, std::string(key) + ".");
    r.rope_type = rp.string("rope_type", rp.string("type", "default"));
    r.rope_theta = rp.number("rope_theta", r.rope_theta);
    r.partial_rotary_factor = rp.number("partial_rotary_factor", r.partial_rotary_factor);
    r.factor = rp.number("factor", 1.0);
    if (rp.has("attention_factor")) r.attention_factor = rp.number("attention_factor", 1.0);
    // transformers: `beta_fast or 32` — a 0 counts as absent.
    r.beta_fast = rp.number("beta_fast", 32.0);
    if (r.beta_fast == 0) r.beta_fast = 32.0;
    r.beta_slow = rp.number("beta_slow", 1.0);
    if (r.beta_slow == 0) r.beta_slow = 1.0;
    r.mscale = rp.number("mscale", 0.0);
    r.mscale_all_dim = rp.number("mscale_all_dim", 0.0);
    r.original_max_position_embeddings = rp.integer("original_max_position_embeddings", 0);
    r.truncate = rp.boolean("truncate", true);
    if (r.rope_type != "default" && r.rope_type != "linear" && r.rope_type != "yarn")
      throw UnsupportedError(fmt::format("{}: field '{}.rope_type' is '{}'; supported: default, linear, yarn", what,
                                         key, r.rope_type));
    if (r.rope_type != "default" && !(r.factor > 0)) rp.invalid("factor", "must be > 0");
  }
  if (r.rope_type == "yarn" && r.original_max_position_embeddings == 0)
    r.original_max_position_embeddings = f.integer("original_max_position_embeddings", max_positions);
  if (!(r.rope_theta > 0)) f.invalid("rope_theta", "must be > 0");
  if (!(r.partial_rotary_factor > 0 && r.partial_rotary_factor <= 1))
    f.invalid("partial_rotary_factor", "must be in (0, 1]");
  return r;
}

void positive(const Fields& f, const char* key, int64_t v) {
  if (v <= 0) f.invalid(key, fmt::format("must be ≥ 1, got {}", v));
}

// The fields both families share. `d` carries the family's defaults on entry.
void parse_decoder(const json& c, const std::string& what, double default_theta, DecoderConfig& d) {
  const Fields f(c, what);
  d.what = what;
  d.model_type = f.string("model_type", "");
  d.vocab_size = f.integer("vocab_size", d.vocab_size);
  d.hidden_size = f.integer("hidden_size", d.hidden_size);
  d.intermediate_size = f.integer("intermediate_size", d.intermediate_size);
  d.num_hidden_layers = f.integer("num_hidden_layers", d.num_hidden_layers);
  d.num_attention_heads = f.integer("num_attention_heads", d.num_attention_heads);
  d.num_key_value_heads = f.integer("num_key_value_heads", d.num_key_value_heads);
  positive(f, "vocab_size", d.vocab_size);
  positive(f, "hidden_size", d.hidden_size);
  positive(f, "intermediate_size", d.intermediate_size);
  positive(f, "num_hidden_layers", d.num_hidden_layers);
  positive(f, "num_attention_heads", d.num_attention_heads);
  positive(f, "num_key_value_heads", d.num_key_value_heads);
  if (d.num_attention_heads % d.num_key_value_heads != 0)
    f.invalid("num_key_value_heads",
              fmt::format("({}) must divide num_attention_heads ({})", d.num_key_value_heads, d.num_attention_heads));
  // An explicit null head_dim means hidden / heads even where the class has a default (gpt_oss).
  if (d.head_dim <= 0 || (c.contains("head_dim") && c["head_dim"].is_null()))
    d.head_dim = d.hidden_size / d.num_attention_heads;
  d.head_dim = f.integer("head_dim", d.head_dim);
  positive(f, "head_dim", d.head_dim);
  d.rms_norm_eps = f.number("rms_norm_eps", d.rms_norm_eps);
  if (!(d.rms_norm_eps > 0)) f.invalid("rms_norm_eps", "must be > 0");
  d.max_position_embeddings = f.integer("max_position_embeddings", d.max_position_embeddings);
  positive(f, "max_position_embeddings", d.max_position_embeddings);
  d.rope = parse_rope(f, c, what, default_theta, d.max_position_embeddings);
  if (d.head_dim % 2 != 0) f.invalid("head_dim", "must be even (rotary embedding)");
  d.attention_bias = f.boolean("attention_bias", d.attention_bias);
  d.tie_word_embeddings = f.boolean("tie_word_embeddings", d.tie_word_embeddings);
  d.hidden_act = f.string("hidden_act", d.hidden_act);
  if (d.hidden_act != "silu")
    throw UnsupportedError(fmt::format("{}: field 'hidden_act' is '{}'; only silu is supported", what, d.hidden_act));
  // transformers' attribute_map: num_experts ↔ num_local_experts.
  d.num_experts = f.integer("num_local_experts", f.integer("num_experts", d.num_experts));
  d.num_experts_per_tok = f.integer("num_experts_per_tok", f.integer("experts_per_token", d.num_experts_per_tok));
  positive(f, "num_experts", d.num_experts);
  positive(f, "num_experts_per_tok", d.num_experts_per_tok);
  if (d.num_experts_per_tok > d.num_experts)
    f.invalid("num_experts_per_tok",
              fmt::format("({}) exceeds the number of experts ({})", d.num_experts_per_tok, d.num_experts));
  d.eos_token_ids = f.int_list("eos_token_id");
  d.bos_token_id = f.opt_integer("bos_token_id");
  d.pad_token_id = f.opt_integer("pad_token_id");
  d.torch_dtype = f.string("dtype", f.string("torch_dtype", ""));
  if (f.has("quantization_config") && d.model_type != "gpt_oss")
    throw UnsupportedError(fmt::format("{}: quantized checkpoints (field 'quantization_config') are not supported "
                                       "for {}",
                                       what, d.model_type));
}

void check_layer_types(const Fields& f, DecoderConfig& d) {
  if (d.layer_types.size() != static_cast<size_t>(d.num_hidden_layers))
    f.invalid("layer_types", fmt::format("has {} entries for {} layers", d.layer_types.size(), d.num_hidden_layers));
  for (const auto& t : d.layer_types) {
    if (t != "full_attention" && t != "sliding_attention")
      f.invalid("layer_types", fmt::format("has '{}'; expected full_attention or sliding_attention", t));
    if (t == "sliding_attention" && !d.sliding_window)
      f.invalid("sliding_window", "is needed by a sliding_attention layer but is null");
  }
  if (d.sliding_window && *d.sliding_window <= 0) f.invalid("sliding_window", "must be ≥ 1 or null");
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

std::string hf_model_type(const std::string& config_json, const std::string& what) {
  const json c = parse_json(config_json, what);
  if (!c.contains("model_type") || !c["model_type"].is_string())
    throw InputError(fmt::format("{}: field 'model_type' (string) is missing", what));
  return c["model_type"].get<std::string>();
}

Qwen3MoeConfig parse_qwen3_moe_config(const std::string& config_json, const std::string& what) {
  const json c = parse_json(config_json, what);
  const Fields f(c, what);
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
  parse_decoder(c, what, 10000.0, q);
  if (q.model_type != "qwen3_moe") f.invalid("model_type", fmt::format("is '{}', expected qwen3_moe", q.model_type));
  q.moe_intermediate_size = f.integer("moe_intermediate_size", q.moe_intermediate_size);
  positive(f, "moe_intermediate_size", q.moe_intermediate_size);
  q.norm_topk_prob = f.boolean("norm_topk_prob", q.norm_topk_prob);
  q.decoder_sparse_step = f.integer("decoder_sparse_step", q.decoder_sparse_step);
  positive(f, "decoder_sparse_step", q.decoder_sparse_step);
  q.mlp_only_layers = f.int_list("mlp_only_layers");
  for (int64_t l : q.mlp_only_layers)
    if (l < 0 || l >= q.num_hidden_layers)
      f.invalid("mlp_only_layers", fmt::format("lists layer {} outside [0, {})", l, q.num_hidden_layers));
  q.use_sliding_window = f.boolean("use_sliding_window", false);
  // Qwen3MoeConfig: sliding_window = sliding_window if use_sliding_window else None; the model
  // then applies it to every layer.
  q.sliding_window = q.use_sliding_window ? std::optional<int64_t>(f.integer("sliding_window", 4096)) : std::nullopt;
  q.layer_types.assign(static_cast<size_t>(q.num_hidden_layers),
                       q.sliding_window ? "sliding_attention" : "full_attention");
  check_layer_types(f, q);
  return q;
}

GptOssConfig parse_gpt_oss_config(const std::string& config_json, const std::string& what) {
  const json c = parse_json(config_json, what);
  const Fields f(c, what);
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
  parse_decoder(c, what, 150000.0, g);
  if (g.model_type != "gpt_oss") f.invalid("model_type", fmt::format("is '{}', expected gpt_oss", g.model_type));
  if (!has_rope) {
    g.rope.rope_type = "yarn";
    g.rope.factor = 32.0;
    g.rope.beta_fast = 32.0;
    g.rope.beta_slow = 1.0;
    g.rope.truncate = false;
    g.rope.original_max_position_embeddings = 4096;
  }
  g.swiglu_limit = f.number("swiglu_limit", g.swiglu_limit);
  g.swiglu_alpha = f.number("swiglu_alpha", g.swiglu_alpha);
  g.sliding_window = f.has("sliding_window") ? std::optional<int64_t>(f.integer("sliding_window", 0))
                     : c.contains("sliding_window") ? std::nullopt  // explicit null
                                                    : std::optional<int64_t>(128);
  g.layer_types = f.string_list("layer_types");
  if (!f.has("layer_types"))  // GptOssConfig: sliding on even layers, full on odd ones
    for (int64_t i = 0; i < g.num_hidden_layers; ++i)
      g.layer_types.push_back((i + 1) % 2 ? "sliding_attention" : "full_attention");
  check_layer_types(f, g);
  if (f.has("quantization_config")) {
    const json& q = c["quantization_config"];
    if (!q.is_object()) f.invalid("quantization_config", "must be an object");
    g.quant_method = Fields(q, what, "quantization_config.").string("quant_method", "");
    if (g.quant_method != "mxfp4")
      throw UnsupportedError(fmt::format("{}: field 'quantization_config.quant_method' is '{}'; only mxfp4 (or no "
                                         "quantization) is supported for gpt_oss",
                                         what, g.quant_method));
  }
  return g;
}

HfModelConfig parse_hf_config(const std::string& config_json, const std::string& what) {
  const std::string type = hf_model_type(config_json, what);
  if (type == "qwen3_moe") return parse_qwen3_moe_config(config_json, what);
  if (type == "gpt_oss") return parse_gpt_oss_config(config_json, what);
  std::string known;
  for (const auto& t : native_model_types()) known += (known.empty() ? "" : ", ") + t;
  throw UnsupportedError(fmt::format(
      "{}: model_type '{}' cannot run natively (supported: {}); export it to TorchScript with "
      "tools/export_torchscript.py and load the .pt file instead (docs/export.md)",
      what, type, known));
}

HfModelConfig load_hf_config(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("{}: cannot open (a Hugging Face checkpoint directory needs a config.json)",
                                 path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_hf_config(text.str(), path.string());
}

const DecoderConfig& decoder_config(const HfModelConfig& config) {
  return std::visit([](const auto& c) -> const DecoderConfig& { return c; }, config);
}

}  // namespace moeroute
