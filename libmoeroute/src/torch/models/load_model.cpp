// load_model: "builtin:NAME" or a TorchScript export with optional extra files
// (config.json: routing rule and stop tokens; docs/recording.md, "Exports").
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "torch/models/native_loader.h"
#include "torch/models/tiny_moe.h"
#include "moeroute/error.h"
#include "moeroute/model.h"
#include "moeroute/torchscript.h"
#include "torch/torchscript/torchscript_model.h"

namespace moeroute {

namespace {

constexpr const char* kBuiltinPrefix = "builtin:";

std::unique_ptr<CausalLM> load_builtin(const std::string& name, const ModelOptions& options) {
  if (name == "tiny-qwen3-moe") return detail::load_tiny_qwen3_moe(options);
  if (name == "tiny-gpt-oss") return detail::load_tiny_gpt_oss(options);
  auto module = builtin_module(name);
  const detail::TinyMoeConfig config;
  detail::ScriptModelMeta meta;
  meta.model_id = std::string(kBuiltinPrefix) + name;
  meta.what = meta.model_id;
  meta.routing_rule = qwen_moe_rule(static_cast<int>(config.top_k), true).to_string();
  meta.tokenizer = make_byte_tokenizer(detail::tiny_moe_special_tokens());
  meta.stop_token_ids = {256, 258};  // <|endoftext|>, <|im_end|>
  meta.pad_token_id = 256;
  return detail::make_torchscript_model(std::move(module), std::move(meta), options);
}

// Fills the rule and stop tokens from a transformers config.json stored in the export.
void read_hf_config(const std::string& text, const std::string& what, detail::ScriptModelMeta& meta) {
  meta.routing_rule = routing_rule_from_hf_config(text, what).to_string();
  const auto c = nlohmann::json::parse(text);
  auto ids = [&](const char* key) {
    std::vector<int64_t> out;
    if (!c.contains(key) || c[key].is_null()) return out;
    const auto& v = c[key];
    if (v.is_number_integer()) out.push_back(v.get<int64_t>());
    else if (v.is_array())
      for (const auto& x : v)
        if (x.is_number_integer()) out.push_back(x.get<int64_t>());
    return out;
  };
  meta.stop_token_ids = ids("eos_token_id");
  const auto pad = ids("pad_token_id");
  if (!pad.empty()) meta.pad_token_id = pad[0];
  else if (!meta.stop_token_ids.empty()) meta.pad_token_id = meta.stop_token_ids[0];
}

}  // namespace

std::vector<std::string> builtin_model_names() { return {"tiny-moe", "tiny-qwen3-moe", "tiny-gpt-oss"}; }

torch::jit::Module builtin_module(const std::string& name) {
  if (name != "tiny-moe")
    throw InputError(fmt::format("unknown built-in model 'builtin:{}' (built-in models: builtin:tiny-moe, "
                                 "builtin:tiny-qwen3-moe, builtin:tiny-gpt-oss; only tiny-moe is a TorchScript module)",
                                 name));
  return detail::build_tiny_moe();
}

std::unique_ptr<CausalLM> load_model(const std::string& model, const ModelOptions& options) {
  if (model.rfind(kBuiltinPrefix, 0) == 0) return load_builtin(model.substr(std::char_traits<char>::length(kBuiltinPrefix)), options);
  const std::filesystem::path path(model);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return detail::load_native_checkpoint(path, options);
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(fmt::format("model '{}': no such file or directory (expected a Hugging Face checkpoint "
                                 "directory, a TorchScript .pt export or builtin:NAME, e.g. builtin:tiny-moe)",
                                 model));
  const auto device = detail::parse_device(options.device);
  torch::jit::ExtraFilesMap extra{{"config.json", ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path.string(), device, extra);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    msg = msg.substr(0, msg.find('\n'));
    throw InputError(fmt::format("model '{}': not a TorchScript file this LibTorch can load: {}", model, msg));
  }
  detail::ScriptModelMeta meta;
  meta.model_id = model;
  meta.what = model;
  if (!extra["config.json"].empty()) read_hf_config(extra["config.json"], model + ":config.json", meta);
  meta.tokenizer = options.tokenizer;
  return detail::make_torchscript_model(std::move(module), std::move(meta), options);
}

}  // namespace moeroute
