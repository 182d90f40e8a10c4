// Native Qwen3-MoE against transformers (tests/data/golden/, made by
// tools/golden/make_native_golden.py): router logits, the experts transformers chose, next-token
// logits at every decode step (through the KV cache) and greedy generations, in float32 on the
// CPU; every experts implementation; padded batches; the KV cache against full re-runs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/safetensors.h"
#include "tensor_values.h"

using namespace moeroute;

namespace {

std::string golden_dir(const std::string& name) { return std::string(MOEROUTE_TEST_DATA_DIR) + "/golden/" + name; }

// One prompt's references.
struct Case {
  std::vector<int64_t> prompt, tokens;
  std::vector<float> logits;         // [positions, V]
  std::vector<float> router_logits;  // [M, positions, E]
  std::vector<int64_t> topk_ids;     // [M, positions, k]
  int64_t positions = 0, vocab = 0, layers = 0, experts = 0, k = 0;
};

std::vector<Case> load_cases(const std::string& name) {
  const SafetensorsFile f(golden_dir(name) + "/golden.safetensors");
  std::vector<Case> cases;
  const int n = std::stoi(f.metadata().at("num_prompts"));
  for (int i = 0; i < n; ++i) {
    const std::string s = std::to_string(i);
    Case c;
    c.prompt = test::tensor_values<int64_t>(f, "prompt." + s);
    c.tokens = test::tensor_values<int64_t>(f, "tokens." + s);
    c.logits = test::tensor_values<float>(f, "logits." + s);
    c.router_logits = test::tensor_values<float>(f, "router_logits." + s);
    c.topk_ids = test::tensor_values<int64_t>(f, "topk_ids." + s);
    const auto& rl = f.info("router_logits." + s).shape;
    c.layers = rl[0];
    c.positions = rl[1];
    c.experts = rl[2];
    c.vocab = f.info("logits." + s).shape[1];
    c.k = f.info("topk_ids." + s).shape[2];
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<int> golden_moe_layers(const std::string& name) {
  const SafetensorsFile f(golden_dir(name) + "/golden.safetensors");
  std::vector<int> out;
  std::string s = f.metadata().at("moe_layers");
  size_t at = 0;
  while (at < s.size()) {
    const size_t comma = s.find(',', at);
    out.push_back(std::stoi(s.substr(at, comma - at)));
    at = comma == std::string::npos ? s.size() : comma + 1;
  }
  return out;
}

std::unique_ptr<CausalLM> load(const std::string& name, const std::string& experts = "auto",
                               const std::string& dtype = "float32") {
  ModelOptions o;
  o.dtype = parse_model_dtype(dtype);
  o.experts = parse_experts_impl(experts);
  return load_model(golden_dir(name), o);
}

struct Diff {
  double router = 0;      // max |router logit − golden|
  int64_t topk_mismatch = 0;  // (layer, position) whose top-k id set differs though no tie explains it
};

// Bounds for our float32 forward against transformers' (tests/fp_tolerance.h): both sum the same
// products in orders their kernels choose. The longest reduction is the hidden or intermediate
// size or the attention over the positions; the router of the last layer follows every layer's
// reductions, the next-token logits one more (the head).
constexpr int kLayers = 4;  // both golden models
int64_t longest_reduction(const std::string& name, int64_t positions) {
  return std::max<int64_t>(name == "qwen3_moe" ? 64 : 48, positions);
}
double router_tolerance(const std::string& name, const Case& c) {
  return test::fp32_reorder_tolerance(test::max_abs(c.router_logits), longest_reduction(name, c.positions),
                                      kLayers * test::kReductionsPerLayer);
}
double logit_tolerance(const std::string& name, const Case& c) {
  return test::fp32_reorder_tolerance(test::max_abs(c.logits), longest_reduction(name, c.positions),
                                      kLayers * test::kReductionsPerLayer + 1);
}

// The trace's positions [0, n) against the golden's positions [0, n). A top-k set may differ only
// where the golden's k-th and (k+1)-th logits lie within 2·tol (a tie rounding can break either
// way; softmax is monotone, so logits order as the rule's scores do).
Diff compare_routing(const RouterTrace& t, const Case& c, int64_t n, double tol) {
  Diff d;
  REQUIRE(t.num_layers() == c.layers);
  REQUIRE(t.num_positions >= n);
  for (int l = 0; l < t.num_layers(); ++l) {
    for (int64_t p = 0; p < n; ++p) {
      const float* got = t.router_logits_at(l, p);
      const float* want = c.router_logits.data() + (l * c.positions + p) * c.experts;
      for (int64_t e = 0; e < c.experts; ++e) d.router = std::max(d.router, double(std::abs(got[e] - want[e])));
      std::vector<int64_t> a(t.topk_ids_at(l, p), t.topk_ids_at(l, p) + t.top_k);
      std::vector<int64_t> b(c.topk_ids.begin() + (l * c.positions + p) * c.k,
                             c.topk_ids.begin() + (l * c.positions + p + 1) * c.k);
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a == b) continue;
      std::vector<float> z(want, want + c.experts);
      std::nth_element(z.begin(), z.begin() + c.k, z.end(), std::greater<float>());
      const float kth_next = z[static_cast<size_t>(c.k)];
      const float kth = *std::min_element(z.begin(), z.begin() + c.k);
      d.topk_mismatch += double(kth) - double(kth_next) > 2 * tol;
    }
  }
  return d;
}

GenerateOptions greedy(int n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.model_stop_tokens = false;
  return o;
}

std::vector<int64_t> continuation(const Case& c) {
  return {c.tokens.begin() + static_cast<std::ptrdiff_t>(c.prompt.size()), c.tokens.end()};
}

void check_model_against_golden(const std::string& name, const std::string& experts) {
  INFO(name << ", experts " << experts);
  auto model = load(name, experts);
  const auto cases = load_cases(name);
  const auto& info = model->info();
  REQUIRE(info.source == "native");
  REQUIRE(info.moe_layers.size() == static_cast<size_t>(cases[0].layers));
  const auto layers = golden_moe_layers(name);
  for (size_t i = 0; i < layers.size(); ++i) CHECK(info.moe_layers[i].index == layers[i]);
  double worst_router = 0, worst_logit = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    INFO("prompt " << i);
    // Teacher-forced over prompt + greedy tokens: every position's routing.
    const double tol = router_tolerance(name, c);
    const auto scored = score(*model, c.prompt, continuation(c));
    const auto d = compare_routing(scored.trace, c, c.positions, tol);
    CHECK(d.topk_mismatch == 0);
    CHECK(test::within("qwen3 golden: router logits, scored", d.router, tol));
    worst_router = std::max(worst_router, d.router);
    // Greedy generation (KV cache) gives transformers' tokens and, position by position, routing.
    const auto gen = generate(*model, {c.prompt}, greedy(static_cast<int>(c.tokens.size() - c.prompt.size())));
    CHECK(gen[0].generated_ids == continuation(c));
    const auto dg = compare_routing(gen[0].trace, c, c.positions, tol);
    CHECK(dg.topk_mismatch == 0);
    CHECK(test::within("qwen3 golden: router logits, generated", dg.router, tol));
    // Next-token logits step by step through the cache (each forward adds one token).
    ForwardRequest req{{{}}, {0}, true, {}};
    for (size_t p = 0; p < c.tokens.size(); ++p) {
      req.rows[0].push_back(c.tokens[p]);
      if (p + 1 < c.prompt.size()) continue;
      const auto logits = model->forward(req, nullptr).logits[0];
      REQUIRE(static_cast<int64_t>(logits.size()) == c.vocab);
      double step_worst = 0;
      for (int64_t v = 0; v < c.vocab; ++v)
        step_worst = std::max(step_worst, double(std::abs(logits[v] - c.logits[p * c.vocab + v])));
      CHECK(test::within("qwen3 golden: next-token logits", step_worst, logit_tolerance(name, c)));
      worst_logit = std::max(worst_logit, step_worst);
    }
  }
  WARN(name << " experts=" << experts << ": max |router logit diff| " << worst_router << ", max |logit diff| "
            << worst_logit);
}

}  // namespace

TEST_CASE("qwen3_moe golden: router logits, top-k, logits, greedy tokens", "[native][golden]") {
  check_model_against_golden("qwen3_moe", "auto");
}

TEST_CASE("qwen3_moe golden variant: sparse step, no renormalisation, tied head, YaRN, sliding window",
          "[native][golden]") {
  check_model_against_golden("qwen3_moe_variant", "auto");
}

TEST_CASE("every experts implementation matches the golden", "[native][golden]") {
  for (const char* impl : {"loop", "gather", "grouped"}) {
    check_model_against_golden("qwen3_moe", impl);
    check_model_against_golden("qwen3_moe_variant", impl);
  }
}

TEST_CASE("padded batch of two generates what each prompt generates alone", "[native][golden]") {
  auto model = load("qwen3_moe");
  const auto cases = load_cases("qwen3_moe");
  REQUIRE(model->info().padded_batches);
  // Prompts of 7 and 12 tokens share a left-padded batch; the 1-token one pairs with the 12.
  for (auto [a, b] : {std::pair<int, int>{0, 1}, {2, 1}}) {
    const auto& ca = cases[static_cast<size_t>(a)];
    const auto& cb = cases[static_cast<size_t>(b)];
    const auto gen = generate(*model, {ca.prompt, cb.prompt}, greedy(10));
    CHECK(gen[0].generated_ids == continuation(ca));
    CHECK(gen[1].generated_ids == continuation(cb));
    const double ta = router_tolerance("qwen3_moe", ca), tb = router_tolerance("qwen3_moe", cb);
    const auto da = compare_routing(gen[0].trace, ca, ca.positions, ta);
    const auto db = compare_routing(gen[1].trace, cb, cb.positions, tb);
    CHECK(da.topk_mismatch == 0);
    CHECK(db.topk_mismatch == 0);
    CHECK(test::within("qwen3 golden: router logits, padded batch", da.router, ta));
    CHECK(test::within("qwen3 golden: router logits, padded batch", db.router, tb));
  }
}

TEST_CASE("KV-cache decode equals full re-runs", "[native][kv_cache]") {
  auto cached = load("qwen3_moe_variant");
  auto fresh = load("qwen3_moe_variant");
  const auto c = load_cases("qwen3_moe_variant")[1];
  ForwardRequest step{{{}}, {0}, true, {}};
  double worst = 0;
  const double tol = logit_tolerance("qwen3_moe_variant", c);
  for (size_t p = 0; p < c.tokens.size(); ++p) {
    step.rows[0].push_back(c.tokens[p]);
    const auto a = cached->forward(step, nullptr).logits[0];
    // record_last = the whole row makes the model recompute every position.
    const auto b = fresh->forward({step.rows, {static_cast<int64_t>(step.rows[0].size())}, true, {}}, nullptr).logits[0];
    for (size_t v = 0; v < a.size(); ++v) worst = std::max(worst, double(std::abs(a[v] - b[v])));
  }
  CHECK(test::within("qwen3 KV cache vs full re-run: logits", worst, tol));
  WARN("KV-cache decode vs full re-run: max |logit diff| " << worst);
  // A row that does not extend the cached one (a different prefix) is recomputed, not reused.
  auto other = step.rows[0];
  other[0] = (other[0] + 1) % c.vocab;
  const auto x = cached->forward({{other}, {0}, true, {}}, nullptr).logits[0];
  const auto y = fresh->forward({{other}, {static_cast<int64_t>(other.size())}, true, {}}, nullptr).logits[0];
  double d = 0;
  for (size_t v = 0; v < x.size(); ++v) d = std::max(d, double(std::abs(x[v] - y[v])));
  CHECK(test::within("qwen3 KV cache, other prefix: logits", d, tol));
}

TEST_CASE("bfloat16 and float16 runs stay close to the float32 golden", "[native][golden]") {
  const auto cases = load_cases("qwen3_moe");
  for (const char* dtype : {"bfloat16", "float16"}) {
    INFO(dtype);
    std::unique_ptr<CausalLM> model;
    try {
      model = load("qwen3_moe", "auto", dtype);
    } catch (const UnsupportedError& e) {  // LibTorch 1.13: no float16 matmul on the CPU
      CHECK(std::string(dtype) == "float16");
      CHECK_THAT(e.what(), Catch::Contains("float16"));
      continue;
    }
    CHECK(model->info().dtype == dtype);
    const auto& c = cases[1];
    // 8 (bf16) / 11 (f16) significand bits: every op's output rounded (fp_tolerance.h).
    const double tol = test::low_precision_tolerance(test::max_abs(c.router_logits), kLayers * test::kReductionsPerLayer,
                                                     std::string(dtype) == "bfloat16" ? 8 : 11);
    const auto scored = score(*model, c.prompt, continuation(c));
    const auto d = compare_routing(scored.trace, c, c.positions, tol);
    WARN(dtype << ": max |router logit diff| " << d.router << " (bound " << tol << "), top-k sets differing outside "
                << "ties " << d.topk_mismatch << " of " << c.layers * c.positions);
    CHECK(test::within(std::string("qwen3 golden: router logits in ") + dtype, d.router, tol));
    CHECK(d.topk_mismatch == 0);
  }
}
