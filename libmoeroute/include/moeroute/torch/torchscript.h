// TorchScript router hooks, for LibTorch users (this header includes <torch/script.h>).
// moeroute finds a model's MoE routers by module path and inserts moeroute::observe after the
// linear op that computes each router's logits; see docs/recording.md, "How hooking works".
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "moeroute/trace.h"

namespace moeroute {

/// Module-path globs matching transformers' router modules: "**.layers.*.mlp.gate",
/// "**.layers.*.mlp.router", "**.layers.*.block_sparse_moe.gate". In a glob, `*` matches
/// within one path component and a leading `**.` any number of leading components (or none).
std::vector<std::string> default_gate_patterns();

/// True when `path` (e.g. "model.layers.3.mlp.gate") matches `pattern`.
bool gate_pattern_matches(const std::string& pattern, const std::string& path);

struct HookOptions {
  std::vector<std::string> gate_patterns = default_gate_patterns();  ///< router module paths to hook
};

/// A hooked copy of a module: its forward runs moeroute::observe(logits, slot) after every router.
struct HookedModule {
  torch::jit::Module module;     ///< hooked clone (parameters shared with the original)
  std::vector<LayerInfo> gates;  ///< routers in slot order = sorted by numeric layer index
  int num_experts = 0;           ///< rows of every router's weight
};

/// Router modules of `module` (paths matching the patterns, each with a 2-D `weight`), sorted by
/// numeric layer index. Throws InputError when none matches — listing the module paths seen and
/// how to pass a pattern — or when the module was frozen (its submodules folded into constants).
/// `what` names the model in messages (its file, say).
std::vector<LayerInfo> find_router_gates(const torch::jit::Module& module, const HookOptions& options = {},
                                         const std::string& what = "TorchScript module");

/// Clones `module` (sharing its tensors), inlines the clone's forward graph and inserts
/// moeroute::observe after the one aten::linear per router that reads the router's weight
/// (through dtype casts), redirecting later uses to the op's output. The original module is
/// untouched and the clone has never run, so the executor compiles the rewritten graph. Throws
/// InputError when a router's weight is never, or more than once, fed to a linear.
HookedModule hook_router_gates(const torch::jit::Module& module, const HookOptions& options = {},
                               const std::string& what = "TorchScript module");

/// The TorchScript module of a built-in model ("tiny-moe"): unhooked, CPU, float32. Saving it
/// gives an export load_model() can read (with a config.json extra file for its routing rule).
torch::jit::Module builtin_module(const std::string& name);

}  // namespace moeroute
