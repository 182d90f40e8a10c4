// Lists every TorchScript operator of the LibTorch it is built against: "name[.overload] num_args".
// Regenerates tools/moeroute_export/libtorch_1_13_ops.txt (see docs/export.md).
#include <torch/script.h>
#include <torch/csrc/jit/runtime/operator.h>
#include <iostream>
#include <set>
int main() {
  std::set<std::string> lines;
  for (const auto& op : torch::jit::getAllOperators()) {
    const auto& s = op->schema();
    std::string name = s.name() + (s.overload_name().empty() ? "" : "." + s.overload_name());
    lines.insert(name + " " + std::to_string(s.arguments().size()));
  }
  for (auto& l : lines) std::cout << l << "\n";
}
