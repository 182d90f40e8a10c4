// Generation on builtin:tiny-moe: the position convention, batching, teacher forcing, stop
// tokens, loading exports, and bad input.
#include "torch_catch.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <torch/script.h>

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

GenerateOptions greedy(int n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.model_stop_tokens = false;
  return o;
}

// Fraction of (layer, position) whose top-k id lists agree, and the largest logit difference.
std::pair<double, double> compare(const RouterTrace& a, int64_t a0, const RouterTrace& b, int64_t b0, int64_t n) {
  int64_t same = 0, total = 0;
  double diff = 0;
  for (int l = 0; l < a.num_layers(); ++l) {
    for (int64_t p = 0; p < n; ++p) {
      same += std::equal(a.topk_ids_at(l, a0 + p), a.topk_ids_at(l, a0 + p) + a.top_k, b.topk_ids_at(l, b0 + p));
      ++total;
      for (int e = 0; e < a.num_experts; ++e)
        diff = std::max(diff, double(std::abs(a.router_logits_at(l, a0 + p)[e] - b.router_logits_at(l, b0 + p)[e])));
    }
  }
  return {double(same) / double(total), diff};
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
  REQUIRE(tf.trace.num_positions == t.num_positions);
  const auto [agree, diff] = compare(t, 0, tf.trace, 0, t.num_positions);
  CHECK(agree >= 0.99);
  CHECK(diff < 1e-3);
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
  const auto [agree, diff] = compare(pair.var.trace, 0, v1.trace, 0, v1.trace.num_positions);
  CHECK(agree >= 0.99);
  CHECK(diff < 1e-3);
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
  CHECK_THROWS_WITH(generate(tiny(), {encode("x")}, greedy(0)), Catch::Contains("max_new_tokens must be ≥ 1"));
  RecorderOptions r;
  r.top_k = 17;
  CHECK_THROWS_WITH(generate(tiny(), {encode("x")}, greedy(2), r), Catch::Contains("larger than the model's 16 experts"));
  CHECK_THROWS_WITH(generate(tiny(), {{1, 2, 999}}, greedy(2)), Catch::Contains("outside the model's vocabulary"));
}
