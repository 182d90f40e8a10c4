// Router discovery and graph rewrite. The forward graph of a clone is inlined (what the
// executor does anyway, so results are unchanged); after inlining every parameter is reached by a
// prim::GetAttr chain from `self`, so the one aten::linear that reads `<router>.weight` is found
// whatever the router returns (a tensor, or a tuple as in transformers 5.x) and whichever module
// calls it — even when module types are shared between layers.
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/torch/torchscript.h"
#include "torch/torchscript/observe_op.h"

namespace moeroute {

namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// Module paths with numeric components collapsed to '*', first-seen order.
std::vector<std::string> collapsed_paths(const torch::jit::Module& module) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& nm : module.named_modules()) {
    if (nm.name.empty()) continue;
    std::string p, part;
    auto flush = [&] {
      const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
      p += (p.empty() ? "" : ".") + (digits ? std::string("*") : part);
      part.clear();
    };
    for (char c : nm.name) c == '.' ? flush() : void(part += c);
    flush();
    if (seen.insert(p).second) out.push_back(p);
  }
  return out;
}

bool has_tensor_constants(const torch::jit::Graph& g) {
  for (const Node* n : g.nodes())
    if (n->kind() == c10::prim::Constant && n->output()->type()->isSubtypeOf(*c10::TensorType::get())) return true;
  return false;
}

std::optional<std::string> module_path(const Value* v) {
  const Node* n = v->node();
  if (n->kind() == c10::prim::Param && v->offset() == 0) return std::string();
  if (n->kind() != c10::prim::GetAttr) return std::nullopt;
  auto owner = module_path(n->input());
  if (!owner) return std::nullopt;
  const std::string name = n->s(c10::attr::name);
  return owner->empty() ? name : *owner + "." + name;
}

// "<module>.<attribute>" of a tensor read from a module, looking through dtype/layout casts.
std::optional<std::string> parameter_path(const Value* v) {
  static const std::set<c10::Symbol> casts = {c10::aten::to, c10::aten::type_as, c10::aten::contiguous,
                                              c10::aten::detach, c10::aten::clone};
  while (casts.count(v->node()->kind()) && v->node()->inputs().size() > 0) v = v->node()->input(0);
  return module_path(v);
}

void collect_linears(torch::jit::Block* block, const std::map<std::string, int>& slot_of_weight,
                     std::vector<std::pair<Node*, int>>& hits) {
  for (Node* n : block->nodes()) {
    if (n->kind() == c10::aten::linear && n->inputs().size() >= 2) {
      if (auto p = parameter_path(n->input(1))) {
        auto it = slot_of_weight.find(*p);
        if (it != slot_of_weight.end()) hits.emplace_back(n, it->second);
      }
    }
    for (auto* b : n->blocks()) collect_linears(b, slot_of_weight, hits);
  }
}

}  // namespace

namespace {

std::vector<LayerInfo> find_gates(const torch::jit::Module& module, const HookOptions& options, const std::string& what,
                                  int& num_experts) {
  if (options.gate_patterns.empty()) throw InputError(fmt::format("{}: no gate patterns given", what));
  const auto forward = module.find_method("forward");
  if (!forward) throw InputError(fmt::format("{}: the module has no forward method", what));
  const auto children = module.named_modules();
  if (children.size() <= 1) {
    const bool frozen = has_tensor_constants(*forward->graph());
    throw InputError(fmt::format(
        "{}: the module has no submodules{}, so its MoE routers cannot be found by name; export it without "
        "torch.jit.freeze / inlining (docs/recording.md)",
        what, frozen ? " and its parameters are graph constants (a frozen export)" : ""));
  }
  std::vector<LayerInfo> gates;
  num_experts = 0;
  for (const auto& nm : children) {
    if (nm.name.empty()) continue;
    const bool match = std::any_of(options.gate_patterns.begin(), options.gate_patterns.end(),
                                   [&](const std::string& p) { return gate_pattern_matches(p, nm.name); });
    if (!match) continue;
    if (!nm.value.hasattr("weight") || !nm.value.attr("weight").isTensor() || nm.value.attr("weight").toTensor().dim() != 2)
      throw InputError(fmt::format("{}: module '{}' matches a gate pattern but has no 2-D 'weight' [experts, hidden]",
                                   what, nm.name));
    const auto e = static_cast<int>(nm.value.attr("weight").toTensor().size(0));
    if (num_experts != 0 && e != num_experts)
      throw InputError(fmt::format("{}: router '{}' has {} experts, earlier routers {}; all MoE layers must have "
                                   "the same expert count",
                                   what, nm.name, e, num_experts));
    num_experts = e;
    gates.push_back({nm.name, layer_index_from_name(nm.name)});
  }
  if (gates.empty())
    throw InputError(fmt::format(
        "{}: no MoE router found: no module path matches {}. Module paths in the export (numbers shown as *): {}. "
        "Pass the router's path with --gate-pattern GLOB (library: HookOptions::gate_patterns), e.g. "
        "--gate-pattern '**.layers.*.moe.router'",
        what, join(options.gate_patterns, ", "), join(collapsed_paths(module), ", ")));
  std::stable_sort(gates.begin(), gates.end(), [](const LayerInfo& a, const LayerInfo& b) {
    return a.index != b.index ? a.index < b.index : natural_less(a.name, b.name);
  });
  return gates;
}

}  // namespace

std::vector<LayerInfo> find_router_gates(const torch::jit::Module& module, const HookOptions& options,
                                         const std::string& what) {
  int num_experts = 0;
  return find_gates(module, options, what, num_experts);
}

HookedModule hook_router_gates(const torch::jit::Module& module, const HookOptions& options, const std::string& what) {
  detail::ensure_observe_op_registered();
  HookedModule hooked;
  hooked.gates = find_gates(module, options, what, hooked.num_experts);
  std::map<std::string, int> slot_of_weight;
  for (size_t s = 0; s < hooked.gates.size(); ++s) slot_of_weight[hooked.gates[s].name + ".weight"] = static_cast<int>(s);

  hooked.module = module.clone(/*inplace=*/true);
  auto graph = hooked.module.get_method("forward").graph();
  torch::jit::Inline(*graph);
  std::vector<std::pair<Node*, int>> hits;
  collect_linears(graph->block(), slot_of_weight, hits);

  std::vector<int> count(hooked.gates.size(), 0);
  for (const auto& [node, slot] : hits) ++count[static_cast<size_t>(slot)];
  for (size_t s = 0; s < count.size(); ++s) {
    if (count[s] == 0)
      throw InputError(fmt::format(
          "{}: router '{}' was found, but the forward graph never applies aten::linear to its weight (a frozen or "
          "inlined export, or a router that computes its logits another way); hooks need the router's linear op",
          what, hooked.gates[s].name));
    if (count[s] > 1)
      throw InputError(fmt::format("{}: the weight of router '{}' feeds {} linear ops; one router call per forward is "
                                   "expected",
                                   what, hooked.gates[s].name, count[s]));
  }
  const auto observe = c10::Symbol::fromQualString(detail::kObserveOp);
  for (const auto& [node, slot] : hits) {
    torch::jit::WithInsertPoint guard(node->next());
    Value* logits = node->output();
    Value* observed = graph->insert(observe, {logits, static_cast<int64_t>(slot)});
    logits->replaceAllUsesAfterNodeWith(observed->node(), observed);
  }
  return hooked;
}

}  // namespace moeroute
