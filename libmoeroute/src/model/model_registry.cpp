// The model registry and load_model, the one dispatcher over it.
#include "moeroute/model_registry.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "io/text_file.h"
#include "moeroute/hub.h"
#include "moeroute/error.h"
#include "moeroute/hf_config.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBuiltinPrefix = "builtin:";

std::string builtin_list(const ModelRegistry& r) {
  std::string s;
  for (const auto& b : r.builtins()) s += fmt::format("{}{}{}", s.empty() ? "" : ", ", kBuiltinPrefix, b.name);
  return s;
}

std::unique_ptr<CausalLM> load_builtin(const std::string& name, const ModelOptions& options) {
  const auto& r = ModelRegistry::instance();
  for (const auto& b : r.builtins())
    if (b.name == name) return b.factory(options);
  throw InputError(fmt::format("unknown built-in model '{}{}' (built-in models: {})", kBuiltinPrefix, name,
                               builtin_list(r)));
}

// "org/name[@revision]" that is not a local path: one '/', not starting like a path, not a file
// name (a mistyped export should say "no such file", not go to the network).
bool looks_like_hub_id(const std::string& spec) {
  if (std::count(spec.begin(), spec.end(), '/') != 1 || spec.front() == '/' || spec.front() == '.' ||
      spec.front() == '~')
    return false;
  for (const char* ext : {".pt", ".json", ".safetensors"})
    if (spec.size() > std::strlen(ext) && spec.compare(spec.size() - std::strlen(ext), std::strlen(ext), ext) == 0)
      return false;
  try {
    parse_repo_spec(spec);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

std::unique_ptr<CausalLM> load_checkpoint_dir(const fs::path& dir, const std::string& model_id,
                                              const ModelOptions& options) {
  const auto config = dir / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(config, ec))
    throw InputError(fmt::format("model '{}': a directory without config.json (expected a Hugging Face checkpoint "
                                 "directory)",
                                 dir.string()));
  const std::string type = hf_model_type(detail::read_text_file(config, {std::uint64_t{16} << 20, {}}), config.string());
  const auto& r = ModelRegistry::instance();
  for (const auto& a : r.architectures())
    if (a.model_type == type) return a.factory(dir, model_id, options);
  std::string known;
  for (const auto& a : r.architectures()) known += (known.empty() ? "" : ", ") + a.model_type;
  throw UnsupportedError(fmt::format(
      "{}: field 'model_type': '{}' cannot run natively (supported: {}); export it to TorchScript with "
      "tools/export_torchscript.py and load the .pt file instead (docs/export.md)",
      config.string(), type, known));
}

}  // namespace

ModelRegistry& ModelRegistry::instance() {
  static ModelRegistry registry;
  return registry;
}

void ModelRegistry::add_builtin(std::string name, std::string description, BuiltinFactory factory) {
  builtins_.push_back({std::move(name), std::move(description), std::move(factory)});
}

void ModelRegistry::add_architecture(std::string model_type, CheckpointFactory factory) {
  architectures_.push_back({std::move(model_type), std::move(factory)});
}

void ModelRegistry::set_file_loader(std::string description, FileFactory factory) {
  file_loader_description_ = std::move(description);
  file_loader_ = std::move(factory);
}

std::vector<std::string> builtin_model_names() {
  ensure_model_backends();
  std::vector<std::string> names;
  for (const auto& b : ModelRegistry::instance().builtins()) names.push_back(b.name);
  return names;
}

std::unique_ptr<CausalLM> load_model(const std::string& spec, const ModelOptions& options) {
  if (spec.empty()) throw InputError("no model named (e.g. builtin:tiny-moe, a checkpoint directory or a .pt export)");
  ensure_model_backends();
  if (spec.rfind(kBuiltinPrefix, 0) == 0) return load_builtin(spec.substr(std::char_traits<char>::length(kBuiltinPrefix)), options);
  const fs::path path(spec);
  std::error_code ec;
  if (fs::is_directory(path, ec)) return load_checkpoint_dir(path, spec, options);
  if (fs::is_regular_file(path, ec)) {
    const auto& loader = ModelRegistry::instance().file_loader();
    if (!loader) throw UnsupportedError(fmt::format("model '{}': no backend loads model files in this build", spec));
    return loader(path, options);
  }
  // A Hub id: the cached snapshot, downloaded first when missing (docs/models.md). Traces name
  // the model by its id, not by the snapshot directory.
  if (looks_like_hub_id(spec)) return load_checkpoint_dir(resolve_model_location(spec, hub_options_from_environment()), spec, options);
  throw InputError(fmt::format("model '{}': no such file or directory (expected a Hugging Face checkpoint directory, "
                               "a Hub id such as Qwen/Qwen3-30B-A3B, a TorchScript .pt export or builtin:NAME, e.g. "
                               "builtin:tiny-moe; relative paths are relative to the current directory)",
                               spec));
}

}  // namespace moeroute
