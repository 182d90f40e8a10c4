// The torch plugin's entry point: registers the LibTorch backends — the built-in demo models,
// the native families by config.json model_type, and TorchScript exports — with the core's model
// registry (moeroute/model_registry.h). The core calls it once, on the first model load.
#include "moeroute/model_registry.h"
#include "torch/builtins/builtins.h"
#include "torch/families/native_loader.h"
#include "torch/torch_options.h"
#include "torch/torchscript/load_export.h"

namespace moeroute::detail {

namespace {

using LoadBuiltin = std::unique_ptr<CausalLM> (*)(const ModelOptions&);
using LoadPath = std::unique_ptr<CausalLM> (*)(const std::filesystem::path&, const ModelOptions&);
using LoadCheckpoint = std::unique_ptr<CausalLM> (*)(const std::filesystem::path&, const std::string&, const ModelOptions&);

// Every factory applies the process-wide thread option before it builds anything.
BuiltinFactory with_threads(LoadBuiltin load) {
  return [load](const ModelOptions& o) {
    apply_thread_option(o);
    return load(o);
  };
}
FileFactory with_threads(LoadPath load) {
  return [load](const std::filesystem::path& p, const ModelOptions& o) {
    apply_thread_option(o);
    return load(p, o);
  };
}
CheckpointFactory with_threads(LoadCheckpoint load) {
  return [load](const std::filesystem::path& p, const std::string& id, const ModelOptions& o) {
    apply_thread_option(o);
    return load(p, id, o);
  };
}

}  // namespace

void register_torch_backends(ModelRegistry& r) {
  r.add_builtin("tiny-moe", "Qwen3-MoE-shaped TorchScript model, 4 layers × 16 experts, byte vocabulary",
                with_threads(load_tiny_moe));
  r.add_builtin("tiny-qwen3-moe", "native Qwen3-MoE, 4 layers × 16 experts (top-4), byte vocabulary",
                with_threads(load_tiny_qwen3_moe));
  r.add_builtin("tiny-gpt-oss", "native gpt-oss with MXFP4 experts, byte vocabulary", with_threads(load_tiny_gpt_oss));
  for (const char* type : {"qwen3_moe", "gpt_oss"}) r.add_architecture(type, with_threads(load_native_checkpoint));
  r.set_file_loader("TorchScript export (.pt)", with_threads(load_torchscript_export));
}

}  // namespace moeroute::detail

extern "C" void moeroute_register_torch_backends(moeroute::ModelRegistry* registry) {
  moeroute::detail::register_torch_backends(*registry);
}
