#include "test_moe_modules.h"

#include <fmt/format.h>

namespace moeroute::test {

namespace {

using torch::jit::Module;

struct Builder {
  std::shared_ptr<torch::jit::CompilationUnit> cu = std::make_shared<torch::jit::CompilationUnit>();
  Module module(const std::string& cls) {
    return Module(c10::QualifiedName("__torch__.moeroute_test." + cls), cu, /*shouldMangle=*/true);
  }
};

const char* kRouterSource[] = {
    // QwenGate
    R"(
def forward(self, x: Tensor) -> Tensor:
    return torch.linear(x, self.weight)
)",
    // GptOssRouter
    R"(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
    logits = torch.linear(x, self.weight, self.bias)
    v, i = torch.topk(logits, {k}, -1)
    v = torch.softmax(v, 1, dtype=v.dtype)
    return torch.zeros_like(logits).scatter(1, i, v), i
)",
    // GptOssRouterV5
    R"(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    router_logits = torch.linear(x, self.weight, self.bias)
    v, i = torch.topk(router_logits, {k}, -1)
    v = torch.softmax(v, 1, dtype=v.dtype)
    return router_logits, v, i
)",
    // QwenRouterV5
    R"(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    router_logits = torch.linear(x, self.weight)
    router_logits = torch.softmax(router_logits, -1, dtype=6)  # 6 = torch.float32
    v, i = torch.topk(router_logits, {k}, -1)
    v = v / v.sum(-1, keepdim=True)
    return router_logits, v, i
)",
};

const char* kMlpSource[] = {
    R"(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
    logits = self.gate.forward(x)
    p = torch.softmax(logits, -1, dtype=6)  # 6 = torch.float32
    w, ids = torch.topk(p, {k}, -1)
    w = w / w.sum(-1, keepdim=True)
    return self.experts.forward(x, torch.zeros_like(p).scatter(1, ids, w)), logits
)",
    R"(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
    scores, idx = self.router.forward(x)
    return self.experts.forward(x, scores), scores
)",
    R"(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
    logits, w, idx = self.router.forward(x)
    return self.experts.forward(x, torch.zeros_like(logits).scatter(1, idx, w)), logits
)",
    R"(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
    probs, w, idx = self.gate.forward(x)
    return self.experts.forward(x, torch.zeros_like(probs).scatter(1, idx, w)), probs
)",
};

}  // namespace

RoutingRule rule_of(const MoeSpec& spec) {
  switch (spec.style) {
    case RouterStyle::GptOssRouter:
    case RouterStyle::GptOssRouterV5: return gpt_oss_rule(spec.top_k);
    default: return qwen_moe_rule(spec.top_k, true);
  }
}

torch::jit::Module build_moe(const MoeSpec& spec) {
  torch::manual_seed(spec.seed);
  Builder b;
  const auto style = static_cast<size_t>(spec.style);
  const bool gpt = spec.style == RouterStyle::GptOssRouter || spec.style == RouterStyle::GptOssRouterV5;
  auto layers = b.module("ModuleList");
  std::string body;
  for (int i = 0; i < spec.layers; ++i) {
    auto router = b.module(gpt ? "TopKRouter" : "Gate");
    auto w = torch::randn({spec.experts, spec.hidden});
    if (i == 0) {
      // Column 0 (what x = e₀ selects): logits [1, 2, 0, 3, -1, …] (+ bias [0, 0, 1.5, 0, 0, …] for gpt-oss
      // → [1, 2, 1.5, 3, -1, …]).
      const float col[] = {1, 2, 0, 3};
      for (int e = 0; e < spec.experts; ++e) w[e][0] = e < 4 ? col[e] : -1.0f;
    }
    router.register_parameter("weight", w, false);
    if (gpt) {
      auto bias = torch::zeros({spec.experts});
      if (i == 0) bias[2] = 1.5f;
      else bias = torch::randn({spec.experts});
      router.register_parameter("bias", bias, false);
    }
    router.define(fmt::format(kRouterSource[style], fmt::arg("k", spec.top_k)));

    auto experts = b.module("Experts");
    experts.register_parameter("weight", torch::randn({spec.experts, spec.hidden, spec.hidden}) * 0.5, false);
    experts.define(R"(
def forward(self, x: Tensor, routing: Tensor) -> Tensor:
    y = torch.einsum("nh,egh->neg", x, self.weight)
    return (y * routing.unsqueeze(-1)).sum(1)
)");
    auto mlp = b.module("SparseMoeBlock");
    mlp.register_module(gpt ? "router" : "gate", router);
    mlp.register_module("experts", experts);
    mlp.define(fmt::format(kMlpSource[style], fmt::arg("k", spec.top_k)));
    auto layer = b.module("DecoderLayer");
    layer.register_module("mlp", mlp);
    layer.define(R"(
def forward(self, h: Tensor) -> Tuple[Tensor, Tensor]:
    y, r = self.mlp.forward(h)
    return h + y, r
)");
    layers.register_module(std::to_string(i), layer);
    body += fmt::format(R"(
    ins.append(h)
    h, r = getattr(self.model.layers, "{0}").forward(h)
    outs.append(r)
)",
                        i);
  }
  auto model = b.module("Model");
  model.register_module("layers", layers);
  auto top = b.module("ForCausalLM");
  top.register_module("model", model);
  top.define(R"(
def forward(self, x: Tensor) -> Tuple[Tensor, List[Tensor], List[Tensor]]:
    outs: List[Tensor] = []
    ins: List[Tensor] = []
    h = x
)" + body + "    return h, outs, ins\n");
  top.eval();
  return top;
}

}  // namespace moeroute::test
