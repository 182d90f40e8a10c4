// Generation on builtin:tiny-moe: the position convention, batching, teacher forcing, stop
// tokens, loading exports, and bad input.
#include "torch_catch.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <torch/script.h>

#include "fp_tolerance.h"
#include "generate_options.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"
#include "moeroute/torch/torchscript.h"

using namespace moeroute;

namespace {

CausalLM& tiny() {
  static auto model = load_model("builtin:tiny-moe");
  return *model;
}

std::vector<int64_t> encode(const std::string& s) { return tiny().tokenizer()->encode(s); }

using moeroute::test::greedy;

// Two fp32 evaluations of the same tokens by different computations (step by step vs one forward,
// a padded batch vs a row alone) agree within the reorder bound of tests/fp_tolerance.h:
// builtin:tiny-moe has 4 layers, hidden size 64 (the longest reduction unless the row is longer);
// top-k ids may differ only where two logits tie within that bound.
void check_same_routing(const RouterTrace& a, const RouterTrace& b, const std::string& what) {
  REQUIRE(a.num_positions == b.num_positions);
  REQUIRE(a.router_logits.size() == b.router_logits.size());
  const double tol = test::fp32_reorder_tolerance(test::max_abs(b.router_logits), std::max<int64_t>(64, a.num_positions),
                                                  4 * test::kReductionsPerLayer);
  double diff = 0;
  for (size_t i = 0; i < a.router_logits.size(); ++i)
    diff = std::max(diff, double(std::abs(a.router_logits[i] - b.router_logits[i])));
  CHECK(test::within(what, diff, tol));
  CHECK(test::topk_agree_outside_ties(a.topk_ids, b.topk_ids, b.router_logits, a.top_k, a.num_experts, tol));
}

}  // namespace

TEST_CASE("builtin:tiny-moe is a real MoE LM", "[builtin]") {
  const auto& info = tiny().info();
  CHECK(info.moe_layers.size() >= 4);
  CHECK(info.num_experts >= 16);
  CHECK(info.routing.top_k >= 2);
  CHECK(info.vocab_size == 259);
  CHECK(info.moe_layers[0].name == "model.layers.0.mlp.gate");
  CHECK(info.padded_batches);
  CHECK(tiny().tokenizer()->decode(encode("héllo <|im_end|>")) == "héllo <|im_end|>");
}

TEST_CASE("hooks leave builtin:tiny-moe's logits bit-identical", "[builtin]") {
  ModelOptions plain;
  plain.install_hooks = false;
  auto unhooked = load_model("builtin:tiny-moe", plain);
  ForwardRequest req{{encode("The quick brown fox"), encode("jumps")}, {0, 0}, true, {}};
  const auto rec = tiny().make_recorder({}, 2);
  req.record_last = {3, 2};
  const auto hooked_logits = tiny().forward(req, rec.get()).logits;
  req.record_last = {0, 0};
  const auto plain_logits = unhooked->forward(req, nullptr).logits;
  CHECK(hooked_logits == plain_logits);
  CHECK(rec->trace(0).num_positions == 3);
}

TEST_CASE("generation traces cover every token; step t is position prompt_length - 1 + t", "[builtin]") {
  const auto prompt = encode("<|im_start|>user\nWhat is MoE?<|im_end|>\n<|im_start|>assistant\n");
  const auto gen = generate(tiny(), {prompt}, greedy(12))[0];
  const auto& t = gen.trace;
  REQUIRE(gen.generated_ids.size() == 12);
  CHECK(gen.stop_reason == "max_new_tokens");
  CHECK(t.prompt_length == static_cast<int64_t>(prompt.size()));
  CHECK(t.num_positions == t.prompt_length + 12);
  CHECK(t.generated_length() == 12);
  CHECK(std::equal(prompt.begin(), prompt.end(), t.token_ids.begin()));
  CHECK(std::equal(gen.generated_ids.begin(), gen.generated_ids.end(), t.token_ids.begin() + t.prompt_length));
  CHECK(t.token_text.size() == t.token_ids.size());
  CHECK(t.meta.model_id == "builtin:tiny-moe");
  CHECK(t.meta.routing_rule == "softmax_topk(k=4,norm_topk_prob=true)");

  // Step t was sampled from the logits at position prompt_length − 1 + t: re-running the
  // sequence up to that position must give generated token t as the argmax.
  for (int64_t step : {int64_t{0}, int64_t{5}, int64_t{11}}) {
    std::vector<int64_t> upto(t.token_ids.begin(), t.token_ids.begin() + t.prompt_length + step);
    const auto logits = tiny().forward({{upto}, {0}, true, {}}, nullptr).logits[0];
    const auto argmax = std::max_element(logits.begin(), logits.end()) - logits.begin();
    CHECK(argmax == gen.generated_ids[static_cast<size_t>(step)]);
  }
  // One teacher-forced pass over the same tokens routes every position the same way.
  const auto tf = score(tiny(), prompt, gen.generated_ids);
  check_same_routing(t, tf.trace, "tiny-moe: generated vs teacher-forced router logits");
}

TEST_CASE("different prompts route differently", "[builtin]") {
  const auto a = score(tiny(), encode("You are a pirate who loves the sea."), {});
  const auto b = score(tiny(), encode("Quantum chromodynamics describes quarks."), {});
  std::set<int32_t> used;
  int64_t differ = 0;
  const int64_t n = std::min(a.trace.num_positions, b.trace.num_positions);
  for (int l = 0; l < a.trace.num_layers(); ++l)
    for (int64_t p = 1; p < n; ++p) {
      differ += a.trace.topk_ids_at(l, p)[0] != b.trace.topk_ids_at(l, p)[0];
      used.insert(a.trace.topk_ids_at(l, p)[0]);
    }
  CHECK(differ > n);             // far from identical routing
  CHECK(used.size() >= 8);       // and not collapsed onto a few experts
}

TEST_CASE("a padded batch of two equals two single runs", "[builtin]") {
  const auto base = encode("You are a helpful assistant. Hi!");
  const auto var = encode("You are terse. Hi!");
  const auto pair = run_pair(tiny(), base, var, PairAlignment::Free, greedy(6));
  const auto b1 = generate(tiny(), {base}, greedy(6))[0];
  const auto v1 = generate(tiny(), {var}, greedy(6))[0];
  CHECK(pair.base.generated_ids == b1.generated_ids);
  CHECK(pair.var.generated_ids == v1.generated_ids);
  // base as generated in the batch vs alone; var as measured (one forward) vs generated alone.
  check_same_routing(pair.base_decoded, b1.trace, "tiny-moe: padded batch vs alone, router logits");
  check_same_routing(pair.var.trace, v1.trace, "tiny-moe: scored vs generated alone, router logits");
  CHECK(pair.var.trace.meta.extra.at("alignment") == "free");
}

TEST_CASE("teacher forcing scores var on base's tokens", "[builtin]") {
  const auto base = encode("System: be formal.\nQ: colour of sky?\nA:");
  const auto var = encode("System: be a poet.\nQ: colour of sky?\nA:");
  const auto pair = run_pair(tiny(), base, var, PairAlignment::TeacherForced, greedy(8));
  CHECK(pair.var.generated_ids == pair.base.generated_ids);
  CHECK(pair.var.trace.prompt_length == static_cast<int64_t>(var.size()));
  CHECK(pair.var.trace.generated_length() == pair.base.trace.generated_length());
  CHECK(pair.var.stop_reason == "teacher_forced");
  CHECK(pair.base.trace.meta.extra.at("alignment") == "teacher-forced");
}

TEST_CASE("stop tokens end a sequence and stay in it", "[builtin]") {
  const auto prompt = encode("Hello");
  const auto first = generate(tiny(), {prompt}, greedy(1))[0].generated_ids[0];
  auto o = greedy(20);
  o.stop_token_ids = {first};
  const auto g = generate(tiny(), {prompt}, o)[0];
  CHECK(g.generated_ids == std::vector<int64_t>{first});
  CHECK(g.stop_reason == "stop_token");
  CHECK(g.trace.num_positions == static_cast<int64_t>(prompt.size()) + 1);
}

TEST_CASE("sampling is reproducible from its seed", "[builtin]") {
  auto o = greedy(10);
  o.sampling = {1.0, 0.9, 42};
  const auto a = generate(tiny(), {encode("Once upon")}, o)[0].generated_ids;
  const auto b = generate(tiny(), {encode("Once upon")}, o)[0].generated_ids;
  o.sampling.seed = 43;
  const auto c = generate(tiny(), {encode("Once upon")}, o)[0].generated_ids;
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("exports load from a .pt with config.json", "[builtin][export]") {
  const auto dir = std::filesystem::temp_directory_path() / "moeroute_test_export";
  std::filesystem::create_directories(dir);
  const auto with_config = (dir / "tiny.pt").string(), bare = (dir / "bare.pt").string();
  // The builtin module saved as an export: the shape tools/export_torchscript.py writes.
  auto module = builtin_module("tiny-moe");
  module.save(with_config, {{"config.json", R"({"model_type":"qwen3_moe","num_experts_per_tok":4,
      "norm_topk_prob":true,"eos_token_id":258})"}});
  module.save(bare);

  auto exported = load_model(with_config);
  CHECK(exported->info().routing == qwen_moe_rule(4, true));
  CHECK(exported->info().stop_token_ids == std::vector<int64_t>{258});
  CHECK(exported->tokenizer() == nullptr);
  const auto prompt = encode("Routing check");
  const auto a = generate(*exported, {prompt}, greedy(4))[0];
  const auto b = generate(tiny(), {prompt}, greedy(4))[0];
  CHECK(a.generated_ids == b.generated_ids);
  CHECK(a.trace.topk_ids == b.trace.topk_ids);
  CHECK(a.trace.router_logits == b.trace.router_logits);

  CHECK_THROWS_WITH(load_model(bare), Catch::Contains("no routing rule") && Catch::Contains("--routing-rule"));
  ModelOptions rule;
  rule.routing_rule = parse_routing_rule("qwen3_moe(k=4)");
  CHECK(load_model(bare, rule)->info().routing.top_k == 4);

  std::ofstream((dir / "junk.pt").string()) << "not a zip";
  CHECK_THROWS_WITH(load_model((dir / "junk.pt").string()), Catch::Contains("not a TorchScript file"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("bfloat16 runs record too", "[builtin]") {
  ModelOptions o;
  o.dtype = ModelDtype::BFloat16;
  auto m = load_model("builtin:tiny-moe", o);
  CHECK(m->info().dtype == "bfloat16");
  const auto g = generate(*m, {encode("bf16")}, greedy(3))[0];
  CHECK(g.trace.num_positions == 7);
  g.trace.validate();
}

TEST_CASE("bad model input is refused before any work", "[builtin][errors]") {
  CHECK_THROWS_WITH(load_model("no/such/model.pt"), Catch::Contains("no such file") && Catch::Contains("builtin:tiny-moe"));
  CHECK_THROWS_WITH(load_model("builtin:huge-moe"), Catch::Contains("unknown built-in model"));
  CHECK_THROWS_AS(DeviceMap::parse("tpu:0"), InputError);
  CHECK_THROWS_WITH(parse_model_dtype("int8"), Catch::Contains("'int8'"));
  ModelOptions o;
  o.device_map.kind = DeviceMap::Kind::Explicit;
  o.device_map.entries = {{"model", "cpu"}};
  CHECK_THROWS_WITH(load_model("builtin:tiny-moe", o), Catch::Contains("explicit device map"));
  if (!cuda_available()) {
    o.device_map = DeviceMap::parse("cuda");
    CHECK_THROWS_WITH(load_model("builtin:tiny-moe", o), Catch::Contains("no CUDA device"));
    o.device_map = DeviceMap::parse("auto");
    CHECK(load_model("builtin:tiny-moe", o)->info().device == "cpu");
  }
  CHECK_THROWS_WITH(generate(tiny(), {encode("x")}, greedy(0)), Catch::Contains("max_new_tokens must be in [1, 1000000], got 0"));
  CHECK_THROWS_WITH(generate(tiny(), {encode("x")}, greedy(100000000)), Catch::Contains("got 100000000"));
  RecorderOptions r;
  r.top_k = 17;
  CHECK_THROWS_WITH(generate(tiny(), {encode("x")}, greedy(2), r), Catch::Contains("larger than the model's 16 experts"));
  CHECK_THROWS_WITH(generate(tiny(), {{1, 2, 999}}, greedy(2)), Catch::Contains("outside the model's vocabulary"));
}
