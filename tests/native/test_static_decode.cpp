// Static decode steps (families/static_decode.h: what a CUDA graph captures) against the
// op-by-op steps, on the CPU where they run eagerly: the KV cache written at device-read
// positions equals the host-planned copy exactly; on the built-in models a padded batch
// generated through static steps (past a growth of the cache's capacity) gives the same tokens
// and the same routing within the float32 reorder bound (tests/fp_tolerance.h); and which
// forwards qualify.
#include "torch_catch.h"

#include <algorithm>

#include "fp_tolerance.h"
#include "generate_options.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "torch/families/static_decode.h"
#include "torch/layers/kv_cache.h"

using namespace moeroute;
using namespace moeroute::detail;

namespace {

// Runs `body` with static steps on the CPU, and off again after.
template <class F>
auto static_steps(F&& body) {
  static_decode_force_on_cpu(true);
  try {
    auto r = body();
    static_decode_force_on_cpu(false);
    return r;
  } catch (...) {
    static_decode_force_on_cpu(false);
    throw;
  }
}

using moeroute::test::greedy;

}  // namespace

TEST_CASE("a static step writes the KV cache where the host plan would", "[native][static_decode]") {
  c10::InferenceMode guard;
  const int64_t KV = 2, D = 8;
  const std::vector<std::vector<int64_t>> before{{1, 2, 3}, {4, 5, 6, 7, 8}};
  const std::vector<std::vector<int64_t>> after{{1, 2, 3, 9}, {4, 5, 6, 7, 8, 9}};
  auto fill = [&](KvCache& c, bool fixed) {
    auto p = c.plan(before, {0, 0});
    c.update(0, at::randn({2, KV, 5, D}), at::randn({2, KV, 5, D}), p);
    c.commit(before);
    p = c.plan(after, {0, 0});
    REQUIRE(p.columns == 1);
    if (fixed) {
      p.write_positions = at::tensor(std::vector<int64_t>{3, 5}, at::kLong);
      p.keys = c.capacity(2, c10::kCPU, at::kFloat);
    }
    return p;
  };
  at::manual_seed(1);
  KvCache host(1);
  const auto hp = fill(host, false);
  at::manual_seed(1);
  KvCache device(1);
  const auto dp = fill(device, true);
  CHECK(dp.keys == 64);  // the capacity the first reserve gave
  const auto k = at::randn({2, KV, 1, D}), v = at::randn({2, KV, 1, D});
  const auto [hk, hv] = host.update(0, k, v, hp);
  const auto [dk, dv] = device.update(0, k, v, dp);
  REQUIRE(dk.size(2) == 64);
  CHECK(at::equal(dk.narrow(2, 0, hp.keys), hk));
  CHECK(at::equal(dv.narrow(2, 0, hp.keys), hv));
  CHECK(at::equal(dk[0][0][3], k[0][0][0]));  // row 0's new position 3, row 1's 5
  CHECK(at::equal(dk[1][1][5], k[1][1][0]));
}

TEST_CASE("which forwards run as static steps", "[native][static_decode]") {
  c10::InferenceMode guard;
  KvCache cache(1);
  const std::vector<std::vector<int64_t>> rows{{1, 2, 3}};
  auto p = cache.plan(rows, {0});
  cache.update(0, at::zeros({1, 1, 3, 4}), at::zeros({1, 1, 3, 4}), p);
  cache.commit(rows);
  ForwardRequest r;
  r.rows = {{1, 2, 3, 4}};
  r.record_last = {1};
  const auto decode = cache.plan(r.rows, {1});
  StaticDecode cpu(c10::kCPU, at::kFloat, ExpertsImpl::Auto, /*graphs=*/true);
  CHECK_FALSE(cpu.applies(r, decode, cache));  // graphs are CUDA-only; the CPU only when forced
  static_decode_force_on_cpu(true);
  CHECK(cpu.applies(r, decode, cache));
  ForwardRequest scored = r;
  scored.score_last = {1};
  CHECK_FALSE(cpu.applies(scored, decode, cache));  // log p of a position needs the hidden states
  CHECK_FALSE(StaticDecode(c10::kCPU, at::kFloat, ExpertsImpl::Loop, true).applies(r, decode, cache));
  CHECK_FALSE(StaticDecode(c10::kCPU, at::kDouble, ExpertsImpl::Auto, true).applies(r, decode, cache));
  ForwardRequest prefill = r;
  prefill.rows = {{5, 6}};
  CHECK_FALSE(cpu.applies(prefill, cache.plan(prefill.rows, {2}), cache));  // two new positions
  ForwardRequest beyond;
  beyond.rows = {std::vector<int64_t>(64, 1)};
  beyond.rows[0].push_back(2);
  beyond.record_last = {1};
  cache.commit(beyond.rows);                     // as if 64 positions were cached
  CHECK_FALSE(cpu.applies(beyond, cache.plan(beyond.rows, {1}), cache));  // the cache must grow first
  static_decode_force_on_cpu(false);
}

TEST_CASE("the built-in models generate the same through static steps", "[native][static_decode]") {
  for (const std::string id : {"builtin:tiny-qwen3-moe", "builtin:tiny-gpt-oss"}) {
    INFO(id);
    auto model = load_model(id, ModelOptions{});
    // Two rows of different lengths (left padding) and 70 new tokens: the keys pass the cache's
    // first capacity of 64, so one step grows it op by op and the next static steps read 128.
    const std::vector<std::vector<int64_t>> prompts{{11, 12, 13, 14, 15}, std::vector<int64_t>(17, 21)};
    const int n = 70;
    const auto eager = generate(*model, prompts, greedy(n));
    const auto before = static_decode_counts();
    const auto fixed = static_steps([&] { return generate(*model, prompts, greedy(n)); });
    const auto after = static_decode_counts();
    // Every decode step but the one growing the cache (and the prefill) ran static.
    CHECK(after.eager - before.eager >= n - 2);
    CHECK(after.captured == before.captured);
    for (size_t p = 0; p < prompts.size(); ++p) {
      INFO("prompt " << p);
      CHECK(fixed[p].generated_ids == eager[p].generated_ids);
      const auto& a = eager[p].trace;
      const auto& b = fixed[p].trace;
      REQUIRE(a.router_logits.size() == b.router_logits.size());
      CHECK(a.topk_ids == b.topk_ids);
      // Two evaluations differing in summation order only — attention over 128 cached keys (the
      // masked ones add exact zeros) instead of the fused kernel over the row's keys, the experts
      // as gather instead of the row kernels: the reorder bound over every layer's reductions,
      // the longest being a product over hidden_size (or the keys).
      const auto layers = static_cast<int>(a.layers.size());
      const double tol = test::fp32_reorder_tolerance(test::max_abs(a.router_logits), 128,
                                                      layers * test::kReductionsPerLayer);
      CHECK(test::within("static decode: router logits", test::max_abs_diff(a.router_logits, b.router_logits), tol));
      CHECK(test::within("static decode: gate weights", test::max_abs_diff(a.gate_weights, b.gate_weights),
                         test::fp32_reorder_tolerance(1.0, 128, layers * test::kReductionsPerLayer + 1)));
    }
  }
}
