// TorchScript exports: configured from the exporter's sidecar (docs/export.md) or from a
// config.json extra file in the export (docs/recording.md, "Exports"), then hooked.
#include "torch/torchscript/load_export.h"

#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (in ranges.h since fmt 11: a PyPI torch's own fmt)

#include "io/json_input.h"
#include "moeroute/error.h"
#include "moeroute/export_sidecar.h"
#include "moeroute/hf_tokenizer.h"
#include "torch/own_chat_template.h"
#include "torch/torch_options.h"
#include "torch/torchscript/torchscript_model.h"

namespace moeroute::detail {

namespace {

// Fills the rule and stop tokens from a transformers config.json stored in the export.
void read_hf_config(const std::string& text, const std::string& what, ScriptModelMeta& meta) {
  meta.routing_rule = routing_rule_from_hf_config(text, what).to_string();
  const auto c = parse_json(text, what);
  auto ids = [&](const char* key) { return c.member(key).integers(); };
  meta.stop_token_ids = ids("eos_token_id");
  const auto pad = ids("pad_token_id");
  if (!pad.empty()) meta.pad_token_id = pad[0];
  else if (!meta.stop_token_ids.empty()) meta.pad_token_id = meta.stop_token_ids[0];
}

// Everything the sidecar says that the loader uses before the model exists: rule, stop tokens,
// model id, tokenizer; and the gate paths as exact patterns unless the caller chose patterns.
void apply_sidecar(const ExportSidecar& s, const c10::Device& device, ScriptModelMeta& meta,
                   ModelOptions& options) {
  const std::string file = s.file.string();
  // The trace pins its device in constants (docs/export.md): a mismatch fails deep in forward.
  if ((s.device.rfind("cuda", 0) == 0) != device.is_cuda())
    throw InputError(fmt::format("{}: field 'device': the export was traced on {} and cannot run on {}; re-export "
                                 "with --device {}",
                                 file, s.device, device.str(), device.is_cuda() ? "cuda" : "cpu"));
  meta.model_id = s.model_id;
  meta.routing_rule = s.routing.to_string();
  meta.stop_token_ids = s.eos_token_ids;
  meta.pad_token_id = !s.eos_token_ids.empty() ? s.eos_token_ids[0] : s.bos_token_id.value_or(0);
  if (options.gate_patterns.empty())
    for (const auto& l : s.moe_layers) options.gate_patterns.push_back(l.name);
  if (!s.tokenizer) return;
  std::error_code ec;
  if (!std::filesystem::is_directory(s.tokenizer->dir, ec))
    throw InputError(fmt::format("{}: field 'tokenizer.dir': '{}' is not a directory (the tokenizer files moved?)",
                                 file, s.tokenizer->dir.string()));
  meta.chat_template_dir = s.tokenizer->dir.string();
  meta.chat_template = own_chat_template(s.tokenizer->dir);
  if (!meta.tokenizer) meta.tokenizer = load_tokenizer(s.tokenizer->dir);
}

// What can only be checked on the loaded export: the routers and logits the sidecar describes.
void check_against_sidecar(const ModelInfo& info, const ExportSidecar& s, bool sidecar_gates) {
  const std::string file = s.file.string();
  if (info.num_experts != s.num_experts)
    throw InputError(fmt::format("{}: field 'num_experts': the sidecar says {} experts but the export's routers "
                                 "have {}",
                                 file, s.num_experts, info.num_experts));
  if (info.vocab_size != s.vocab_size)
    throw InputError(fmt::format("{}: field 'vocab_size': the sidecar says {} but the export returns {} logits",
                                 file, s.vocab_size, info.vocab_size));
  if (!sidecar_gates) return;
  std::vector<std::string> found, expected;
  for (const auto& l : info.moe_layers) found.push_back(l.name);
  for (const auto& l : s.moe_layers) expected.push_back(l.name);
  bool same = info.moe_layers.size() == s.moe_layers.size();
  for (size_t i = 0; same && i < s.moe_layers.size(); ++i)
    same = info.moe_layers[i].name == s.moe_layers[i].name && info.moe_layers[i].index == s.moe_layers[i].index;
  if (!same)
    throw InputError(fmt::format("{}: field 'gate_paths': expected routers [{}] but the export has [{}]", file,
                                 fmt::join(expected, ", "), fmt::join(found, ", ")));
}

}  // namespace

std::unique_ptr<CausalLM> load_torchscript_export(const std::filesystem::path& path, const ModelOptions& options) {
  const std::string model = path.string();
  ScriptModelMeta meta;
  meta.model_id = model;
  meta.what = model;
  meta.tokenizer = options.tokenizer;
  // The sidecar first: a bad one fails before a possibly large export is read.
  std::optional<ExportSidecar> sidecar;
  ModelOptions effective = options;
  std::error_code ec;
  const auto sidecar_file = export_sidecar_path(path);
  if (std::filesystem::exists(sidecar_file, ec)) sidecar = load_export_sidecar(sidecar_file);
  // "auto" runs an export where it was traced (its device is pinned in the graph's constants).
  if (sidecar && options.device_map.kind == DeviceMap::Kind::Auto) effective.device_map = DeviceMap::parse(sidecar->device);
  const auto device = single_device(effective.device_map, model);
  if (sidecar) apply_sidecar(*sidecar, device, meta, effective);
  torch::jit::ExtraFilesMap extra{{"config.json", ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path.string(), device, extra);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    msg = msg.substr(0, msg.find('\n'));
    throw InputError(fmt::format("model '{}': not a TorchScript file this LibTorch can load: {}", model, msg));
  }
  if (!sidecar && !extra["config.json"].empty()) read_hf_config(extra["config.json"], model + ":config.json", meta);
  auto lm = make_torchscript_model(std::move(module), std::move(meta), effective);
  if (sidecar) check_against_sidecar(lm->info(), *sidecar, options.gate_patterns.empty());
  return lm;
}

}  // namespace moeroute::detail
