// TorchScript hooks + Recorder on small C++-built MoE modules with transformers' names: recorded
// logits are the router's own linear output bit for bit, ids/weights follow each family's rule
// (hand-computed for a known input), and hooking leaves the model's outputs bit-identical.
#include "torch_catch.h"

#include <cstring>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/torch/recorder.h"
#include "moeroute/torch/torchscript.h"
#include "test_moe_modules.h"

using namespace moeroute;
using namespace moeroute::test;
using Catch::Matchers::WithinAbs;

namespace {
// The recorder applies a rule in float32 on the device (softmax: E exps, a sum of E terms, a
// division; the top-k renormalisation: a sum of k and a division; a scaling factor), the host
// reference in double rounded once to float: within E + k + 4 float32 roundings of weights ≤ scale.
double weight_tolerance(int experts, int k, double scale = 1.0) {
  return fp32_tolerance(experts + k + 4, scale);
}
}  // namespace

namespace {

struct Run {
  torch::Tensor h;
  std::vector<torch::Tensor> outs, ins;
};

Run unpack(const c10::IValue& v) {
  const auto& t = v.toTupleRef().elements();
  Run r{t[0].toTensor(), {}, {}};
  for (const auto& x : t[1].toTensorVector()) r.outs.push_back(x);
  for (const auto& x : t[2].toTensorVector()) r.ins.push_back(x);
  return r;
}

// x: row 0 = e₀ (hand-computed routing in layer 0), the rest random.
torch::Tensor input(const MoeSpec& spec, int64_t rows) {
  auto x = torch::randn({rows, spec.hidden});
  x[0].zero_();
  x[0][0] = 1.0f;
  return x;
}

// Runs the hooked module under a recorder that keeps every position of one sequence.
Run record(const HookedModule& hooked, Recorder& rec, const torch::Tensor& x, int64_t batch = 1) {
  const int64_t seq = x.size(0) / batch;
  rec.begin_forward(batch, seq, std::vector<RowWindow>(static_cast<size_t>(batch), RowWindow{0, seq}));
  c10::IValue out;
  {
    ActiveRecorder active(&rec);
    auto m = hooked.module;
    out = m.forward({x});
  }
  rec.end_forward();
  return unpack(out);
}

bool same_bits(const float* a, const torch::Tensor& b) {
  const auto c = b.contiguous();
  return std::memcmp(a, c.data_ptr<float>(), static_cast<size_t>(c.numel()) * sizeof(float)) == 0;
}

void check_family(const MoeSpec& spec, const std::vector<int32_t>& ids0, const std::vector<double>& w0) {
  auto module = build_moe(spec);
  const auto x = input(spec, 6);
  const Run plain = unpack(module.forward({x}));
  const auto hooked = hook_router_gates(module);
  REQUIRE(hooked.gates.size() == static_cast<size_t>(spec.layers));
  REQUIRE(hooked.num_experts == spec.experts);
  Recorder rec(hooked.gates, spec.experts, rule_of(spec), {});
  const Run run = record(hooked, rec, x);

  // Hooking does not change any output, bit for bit.
  CHECK(torch::equal(run.h, plain.h));
  for (size_t l = 0; l < plain.outs.size(); ++l) CHECK(torch::equal(run.outs[l], plain.outs[l]));

  const RouterTrace t = rec.trace(0);
  REQUIRE(t.num_positions == 6);
  REQUIRE(t.has_router_logits());
  for (int l = 0; l < spec.layers; ++l) {
    INFO("layer " << l);
    CHECK(t.layers[static_cast<size_t>(l)].name == "model.layers." + std::to_string(l) + "." +
                                                        (spec.style == RouterStyle::QwenGate || spec.style == RouterStyle::QwenRouterV5 ? "mlp.gate" : "mlp.router"));
    // The router's raw logits: its own linear on its input, recomputed independently here.
    const auto& p = module.attr("model").toModule().attr("layers").toModule().attr(std::to_string(l)).toModule()
                        .attr("mlp").toModule();
    const auto router = p.hasattr("gate") ? p.attr("gate").toModule() : p.attr("router").toModule();
    const auto bias = router.hasattr("bias") ? router.attr("bias").toTensor() : torch::Tensor();
    const auto logits = torch::linear(plain.ins[static_cast<size_t>(l)], router.attr("weight").toTensor(), bias);
    CHECK(same_bits(t.router_logits_at(l, 0), logits));
    // Where the router returns its raw logits, they are those the recorder saw.
    if (spec.style == RouterStyle::QwenGate || spec.style == RouterStyle::GptOssRouterV5)
      CHECK(same_bits(t.router_logits_at(l, 0), plain.outs[static_cast<size_t>(l)]));
    // Ids and weights: the family's rule (host reference) on the recorded logits.
    for (int64_t pos = 0; pos < t.num_positions; ++pos) {
      const auto want = route(rule_of(spec), t.router_logits_at(l, pos), spec.experts);
      CHECK(std::vector<int32_t>(t.topk_ids_at(l, pos), t.topk_ids_at(l, pos) + t.top_k) == want.ids);
      for (int j = 0; j < t.top_k; ++j)
        CHECK_THAT(t.gate_weights_at(l, pos)[j], WithinAbs(want.weights[j], weight_tolerance(spec.experts, t.top_k)));
    }
  }
  // Layer 0, position 0 (x = e₀): hand-computed.
  CHECK(std::vector<int32_t>(t.topk_ids_at(0, 0), t.topk_ids_at(0, 0) + t.top_k) == ids0);
  for (size_t j = 0; j < w0.size(); ++j)
    CHECK_THAT(t.gate_weights_at(0, 0)[j], WithinAbs(w0[j], weight_tolerance(spec.experts, t.top_k)));
}

}  // namespace

TEST_CASE("Qwen-style gate returning logits", "[hooks]") {
  // logits [1, 2, 0, 3, -1×4]: softmax → top-2 {3, 1} → renormalised σ(1) = .7310586, .2689414.
  check_family({RouterStyle::QwenGate, 3, 8, 4, 2, 1}, {3, 1}, {0.7310585786, 0.2689414214});
}

TEST_CASE("transformers 5.x Qwen3 router returning (probabilities, weights, ids)", "[hooks]") {
  check_family({RouterStyle::QwenRouterV5, 3, 8, 4, 2, 2}, {3, 1}, {0.7310585786, 0.2689414214});
}

TEST_CASE("gpt-oss router with bias returning (scores, indices)", "[hooks]") {
  // logits [1, 2, 1.5, 3, -1×4] (bias on expert 2): top-3 {3, 1, 2} → softmax([3, 2, 1.5]).
  check_family({RouterStyle::GptOssRouter, 3, 8, 4, 3, 3}, {3, 1, 2}, {0.6285317192, 0.2312238976, 0.1402443832});
}

TEST_CASE("transformers 5.x gpt-oss router returning (logits, weights, indices)", "[hooks]") {
  check_family({RouterStyle::GptOssRouterV5, 3, 8, 4, 3, 4}, {3, 1, 2}, {0.6285317192, 0.2312238976, 0.1402443832});
}

TEST_CASE("layers are sorted numerically and the graph is hooked once per router", "[hooks]") {
  MoeSpec spec{RouterStyle::QwenGate, 12, 8, 4, 2, 5};
  auto module = build_moe(spec);
  const auto hooked = hook_router_gates(module);
  REQUIRE(hooked.gates.size() == 12);
  for (int i = 0; i < 12; ++i) CHECK(hooked.gates[static_cast<size_t>(i)].index == i);
  size_t observes = 0;
  for (const auto* n : hooked.module.get_method("forward").graph()->nodes())
    observes += n->kind() == c10::Symbol::fromQualString("moeroute::observe");
  CHECK(observes == 12);
  // The original module is untouched.
  size_t original = 0;
  for (const auto* n : module.get_method("forward").graph()->nodes())
    original += n->kind() == c10::Symbol::fromQualString("moeroute::observe");
  CHECK(original == 0);
}

TEST_CASE("recorder windows select each sequence's columns of a padded batch", "[recorder]") {
  MoeSpec spec{RouterStyle::QwenGate, 2, 8, 4, 2, 6};
  auto module = build_moe(spec);
  const auto hooked = hook_router_gates(module);
  const auto x = torch::randn({2 * 5, spec.hidden});  // batch 2 × seq 5, flattened as transformers does
  Recorder rec(hooked.gates, spec.experts, rule_of(spec), {}, 2);
  rec.begin_forward(2, 5, {{2, 3}, {4, 1}});
  c10::IValue out;
  {
    ActiveRecorder active(&rec);
    auto m = hooked.module;
    out = m.forward({x});
  }
  rec.end_forward();
  const Run run = unpack(out);
  const auto a = rec.trace(0), b = rec.trace(1);
  REQUIRE(a.num_positions == 3);
  REQUIRE(b.num_positions == 1);
  for (int l = 0; l < 2; ++l) {
    const auto& logits = run.outs[static_cast<size_t>(l)];
    for (int p = 0; p < 3; ++p) CHECK(same_bits(a.router_logits_at(l, p), logits[2 + p]));
    CHECK(same_bits(b.router_logits_at(l, 0), logits[5 + 4]));
  }
}

TEST_CASE("recorder options: layer filter, top-k only, bf16 logits, top_k override", "[recorder]") {
  MoeSpec spec{RouterStyle::QwenGate, 3, 8, 4, 2, 7};
  auto module = build_moe(spec);
  const auto hooked = hook_router_gates(module);
  const auto x = input(spec, 4);

  RecorderOptions only1;
  only1.layers = {1};
  only1.keep_logits = false;
  Recorder r1(hooked.gates, 8, rule_of(spec), only1);
  record(hooked, r1, x);
  const auto t1 = r1.trace(0);
  REQUIRE(t1.num_layers() == 1);
  CHECK(t1.layers[0].index == 1);
  CHECK_FALSE(t1.has_router_logits());
  CHECK(t1.has_gate_weights());

  RecorderOptions bf16;
  bf16.logits_dtype = LogitsDtype::BF16;
  bf16.top_k = 3;
  Recorder r2(hooked.gates, 8, rule_of(spec), bf16);
  const Run run = record(hooked, r2, x);
  const auto t2 = r2.trace(0);
  CHECK(t2.top_k == 3);
  CHECK(t2.meta.routing_rule == "softmax_topk(k=3,norm_topk_prob=true)");
  CHECK(same_bits(t2.router_logits_at(2, 0), run.outs[2].to(torch::kBFloat16).to(torch::kFloat)));
  CHECK((std::vector<int32_t>(t2.topk_ids_at(0, 0), t2.topk_ids_at(0, 0) + 3) == std::vector<int32_t>{3, 1, 0}));

  RecorderOptions bad;
  bad.top_k = 9;
  CHECK_THROWS_WITH(Recorder(hooked.gates, 8, rule_of(spec), bad), Catch::Contains("larger than the model's 8 experts"));
  bad.top_k = 0;
  bad.layers = {5};
  CHECK_THROWS_WITH(Recorder(hooked.gates, 8, rule_of(spec), bad), Catch::Contains("layer 5 is not a MoE layer"));
}

TEST_CASE("a router that did not run is reported", "[recorder]") {
  MoeSpec spec{RouterStyle::QwenGate, 2, 8, 4, 2, 8};
  auto module = build_moe(spec);
  const auto hooked = hook_router_gates(module);
  Recorder rec(hooked.gates, 8, rule_of(spec), {});
  rec.begin_forward(1, 3, {{0, 3}});
  module.forward({torch::randn({3, 4})});  // the unhooked module: no router reports
  CHECK_THROWS_WITH(rec.end_forward(), Catch::Contains("did not run"));
}

TEST_CASE("exports without findable routers are refused with guidance", "[hooks]") {
  auto module = build_moe({RouterStyle::QwenGate, 2, 8, 4, 2, 9});
  HookOptions other;
  other.gate_patterns = {"**.blocks.*.moe.router"};
  CHECK_THROWS_WITH(find_router_gates(module, other, "m.pt"),
                    Catch::Contains("m.pt: no MoE router found") && Catch::Contains("model.layers.*.mlp.experts") &&
                        Catch::Contains("--gate-pattern"));
  HookOptions custom;
  custom.gate_patterns = {"model.layers.*.mlp.gate"};
  CHECK(find_router_gates(module, custom).size() == 2);

  auto frozen = torch::jit::freeze(module.clone());
  CHECK_THROWS_WITH(hook_router_gates(frozen, {}, "frozen.pt"), Catch::Contains("frozen export"));
}

TEST_CASE("a router called twice per forward is refused", "[hooks]") {
  torch::jit::Module twice("Twice");
  twice.register_module("model", build_moe({RouterStyle::QwenGate, 1, 8, 4, 2, 10}).attr("model").toModule());
  twice.define(R"(
def forward(self, x: Tensor) -> Tensor:
    g = getattr(self.model.layers, "0").mlp.gate
    return g.forward(x) + g.forward(x)
)");
  CHECK_THROWS_WITH(hook_router_gates(twice), Catch::Contains("feeds 2 linear ops"));
}

TEST_CASE("gate patterns", "[hooks]") {
  for (const auto& p : default_gate_patterns()) CHECK_FALSE(gate_pattern_matches(p, "model.layers.0.mlp.shared_expert_gate"));
  CHECK(gate_pattern_matches("**.layers.*.mlp.gate", "model.layers.10.mlp.gate"));
  CHECK(gate_pattern_matches("**.layers.*.mlp.gate", "layers.3.mlp.gate"));
  CHECK(gate_pattern_matches("**.layers.*.block_sparse_moe.gate", "model.layers.1.block_sparse_moe.gate"));
  CHECK_FALSE(gate_pattern_matches("**.layers.*.mlp.gate", "model.layers.1.mlp.gate.proj"));
  CHECK(gate_pattern_matches("model.h.*.moe.router", "model.h.7.moe.router"));
}

namespace {
// Feeds logits [T, E] straight to a one-layer recorder (no model) and returns its trace.
RouterTrace route_on_device(const RoutingRule& rule, const torch::Tensor& logits, RecorderOptions o = {}) {
  const int E = static_cast<int>(logits.size(1));
  Recorder rec({{"model.layers.0.mlp.gate", 0}}, E, rule, std::move(o));
  rec.begin_forward(1, logits.size(0), {{0, logits.size(0)}});
  rec.observe(0, logits);
  rec.end_forward();
  return rec.trace(0);
}
}  // namespace

TEST_CASE("device rules equal hand-computed values (DeepSeek-V2)", "[recorder]") {
  // Same case as the host test: 4 groups of 2, keep 2 groups, top-3 → {6, 1, 0} × 16.
  const auto logits = torch::tensor({0.0f, 4.0f, 3.0f, 3.5f, 1.0f, 1.0f, 5.0f, -1.0f}).view({1, 8});
  const auto t = route_on_device(deepseek_v2_rule(3, DeepSeekTopKMethod::GroupLimitedGreedy, 4, 2, 16.0, false), logits);
  CHECK((std::vector<int32_t>(t.topk_ids_at(0, 0), t.topk_ids_at(0, 0) + 3) == std::vector<int32_t>{6, 1, 0}));
  // × routed_scaling_factor 16: weights up to 16; the literals have 10 significant digits.
  const double tol = weight_tolerance(8, 3, 16) + 5e-9;
  CHECK_THAT(t.gate_weights_at(0, 0)[0], WithinAbs(9.028362741, tol));
  CHECK_THAT(t.gate_weights_at(0, 0)[1], WithinAbs(3.321349040, tol));
  CHECK_THAT(t.gate_weights_at(0, 0)[2], WithinAbs(0.06083262963, tol));
  const auto g = route_on_device(deepseek_v2_rule(3, DeepSeekTopKMethod::Greedy, 1, 1, 16.0, false), logits);
  CHECK((std::vector<int32_t>(g.topk_ids_at(0, 0), g.topk_ids_at(0, 0) + 3) == std::vector<int32_t>{6, 1, 3}));
}

TEST_CASE("device rules equal the host reference on random logits", "[recorder]") {
  torch::manual_seed(11);
  const auto logits = torch::randn({64, 16}) * 2;
  const std::vector<RoutingRule> rules = {
      qwen_moe_rule(4, true), olmoe_rule(4), mixtral_rule(2), gpt_oss_rule(4),
      deepseek_v2_rule(6, DeepSeekTopKMethod::Greedy, 1, 1, 2.5, false),
      deepseek_v2_rule(6, DeepSeekTopKMethod::GroupLimitedGreedy, 4, 2, 1.0, true)};
  for (const auto& rule : rules) {
    INFO(rule.to_string());
    const auto t = route_on_device(rule, logits);
    for (int64_t p = 0; p < 64; ++p) {
      const auto want = route(rule, logits[p].contiguous().data_ptr<float>(), 16);
      CHECK(std::vector<int32_t>(t.topk_ids_at(0, p), t.topk_ids_at(0, p) + t.top_k) == want.ids);
      // DeepSeek-V2 greedy scales by 2.5.
      for (int j = 0; j < t.top_k; ++j)
        CHECK_THAT(t.gate_weights_at(0, p)[j], WithinAbs(want.weights[j], weight_tolerance(16, t.top_k, 2.5)));
    }
  }
  // bf16 logits (as most checkpoints run): ids follow the bf16 values exactly.
  const auto bf = logits.to(torch::kBFloat16);
  const auto t = route_on_device(gpt_oss_rule(4), bf);
  const auto as_float = bf.to(torch::kFloat);
  CHECK(same_bits(t.router_logits_at(0, 0), as_float));
}

TEST_CASE("a model's own routing is recorded as given, not recomputed", "[recorder]") {
  // Ids and weights that the rule would never produce from these logits (reversed order, made-up
  // weights): the trace must hold them bit for bit, so a native trace is what the experts used.
  torch::manual_seed(5);
  const int64_t T = 6, E = 8, k = 2;
  const auto logits = torch::randn({T, E});
  const auto ids = torch::arange(T * k, torch::kLong).remainder(E).view({T, k}).flip(1);
  const auto weights = torch::rand({T, k});
  const RoutingRule rule = qwen_moe_rule(static_cast<int>(k), true);
  auto run = [&](RecorderOptions o, const torch::Tensor& used_ids) {
    Recorder rec({{"model.layers.0.mlp.gate", 0}, {"model.layers.1.mlp.gate", 1}}, static_cast<int>(E), rule, o);
    rec.begin_forward(1, T, {{2, T - 2}});  // the last four positions
    rec.observe(0, logits, used_ids, weights);
    rec.observe(1, logits * 2, used_ids, weights);
    rec.end_forward();
    return rec.trace(0);
  };
  const auto t = run({}, ids);
  REQUIRE(t.num_positions == T - 2);
  for (int l = 0; l < 2; ++l)
    for (int64_t p = 0; p < T - 2; ++p) {
      const auto want_ids = ids[p + 2];
      for (int64_t j = 0; j < k; ++j) {
        CHECK(t.topk_ids_at(l, p)[j] == want_ids[j].item<int64_t>());
        CHECK(t.gate_weights_at(l, p)[j] == weights[p + 2][j].item<float>());
      }
      CHECK(same_bits(t.router_logits_at(l, p), (l == 0 ? logits : logits * 2)[p + 2]));
    }
  // Without logits the same ids arrive (nothing staged but ids and weights).
  RecorderOptions no_logits;
  no_logits.keep_logits = false;
  const auto n = run(no_logits, ids);
  CHECK(n.router_logits.empty());
  CHECK(n.topk_ids == t.topk_ids);
  // A recorder top_k other than the model's k: what the rule picks with that k, from the logits.
  RecorderOptions wider;
  wider.top_k = 3;
  const auto w3 = run(wider, ids);
  const auto ref = route(qwen_moe_rule(3, true), logits[2].contiguous().data_ptr<float>(), static_cast<int>(E));
  CHECK(std::vector<int32_t>(w3.topk_ids_at(0, 0), w3.topk_ids_at(0, 0) + 3) == ref.ids);
}

TEST_CASE("one forward observed both with and without the model's routing is refused", "[recorder]") {
  const auto logits = torch::randn({3, 4});
  Recorder rec({{"a", 0}, {"b", 1}}, 4, qwen_moe_rule(2, false), {});
  rec.begin_forward(1, 3, {{0, 3}});
  rec.observe(0, logits, torch::zeros({3, 2}, torch::kLong), torch::zeros({3, 2}));
  CHECK_THROWS_WITH(rec.observe(1, logits), Catch::Contains("router 'b' did not give the routing it used"));
}
