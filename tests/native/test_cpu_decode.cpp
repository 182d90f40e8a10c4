// The fused CPU float32 path of the native layers (layers/cpu_decode.h) against the torch ops it
// replaces: where it applies and where it falls back, a whole decoder layer (attention with padding,
// GQA, q/k norms, sinks, a sliding window; prefill, decode and uneven steps through the KV cache)
// equal to the torch path within the float32 reorder bound (tests/fp_tolerance.h), routing with the
// same ids, the experts' combine, and the dispatch counted on the built-in models.
#include "torch_catch.h"

#include <cmath>

#include "fp_tolerance.h"
#include "moeroute/model_registry.h"
#include "torch/layers/cpu_decode.h"
#include "torch/layers/decoder_layer.h"
#include "torch/recorder/routing_ops.h"

using namespace moeroute;
using namespace moeroute::detail;

namespace {

std::vector<float> values(const at::Tensor& t) {
  const auto f = t.to(at::kFloat).contiguous();
  return {f.data_ptr<float>(), f.data_ptr<float>() + f.numel()};
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) { return test::max_abs_diff(values(a), values(b)); }

// Runs `body` with the fused path forced off, and back on after.
template <class F>
auto torch_path(F&& body) {
  cpu_fused_force_off(true);
  auto r = body();
  cpu_fused_force_off(false);
  return r;
}

}  // namespace

TEST_CASE("the fused path applies to few float32 CPU contiguous rows only", "[native][cpu_decode]") {
  c10::InferenceMode guard;
  const auto x = at::randn({2, 3, 64});
  const auto w = at::randn({64});
  CHECK(cpu_fused_applies(x, {&w}));
  CHECK(cpu_fused_applies(at::randn({kCpuFusedMaxRows, 8})));
  CHECK_FALSE(cpu_fused_applies(at::randn({kCpuFusedMaxRows + 1, 8})));  // a prefill: LibTorch's kernels
  CHECK_FALSE(cpu_fused_applies(x.to(at::kBFloat16)));
  CHECK_FALSE(cpu_fused_applies(at::randn({64, 4}).t()));  // not contiguous
  const auto wb = w.to(at::kBFloat16);
  CHECK_FALSE(cpu_fused_applies(x, {&wb}));
  const at::Tensor none;
  CHECK(cpu_fused_applies(x, {&none}));  // an absent parameter (no q/k norm, no sinks)
  cpu_fused_force_off(true);
  CHECK_FALSE(cpu_fused_applies(x));
  cpu_fused_force_off(false);
}

TEST_CASE("fused RMSNorm equals the torch ops", "[native][cpu_decode]") {
  c10::InferenceMode guard;
  const int64_t n = 512;
  const auto x = at::randn({3, n}) * 2, w = 1 + 0.1 * at::randn({n});
  for (auto kind : {RmsNormKind::CastThenWeight, RmsNormKind::WeightThenCast}) {
    const auto before = cpu_fused_counts().norms;
    const auto fused = rms_norm(x, w, 1e-6, kind);
    CHECK(cpu_fused_counts().norms == before + 1);
    const auto ref = torch_path([&] { return rms_norm(x, w, 1e-6, kind); });
    CHECK(cpu_fused_counts().norms == before + 1);
    // The mean of squares in another order (γ_n, halved by the √) and the same six roundings on
    // each side (fp32_tolerance(6) covers both).
    const double scale = ref.abs().max().item<double>();
    CHECK(test::within("fused rms_norm vs torch", max_abs_diff(fused, ref),
                       test::fp32_gamma(n) * scale + test::fp32_tolerance(6, scale)));
  }
}

namespace {

// One decoder layer with a dense MLP (routing is tested on its own below: a flipped expert near a
// tie would dwarf every rounding), in the two families' attention variants.
struct LayerSetup {
  DecoderLayer layer;
  DecoderSpec spec;
  std::unique_ptr<Rotary> rotary;
  at::Tensor embed;
};

LayerSetup make_layer(bool gpt_oss) {
  const int64_t hidden = 64, H = 4, KV = 2, D = 16, I = 32;
  auto mat = [](int64_t r, int64_t c) { return at::randn({r, c}) * (1.0 / std::sqrt(double(c))); };
  LayerSetup s;
  auto& L = s.layer;
  L.input_norm = 1 + 0.1 * at::randn({hidden});
  L.post_norm = 1 + 0.1 * at::randn({hidden});
  L.attention.qkv = mat((H + 2 * KV) * D, hidden);
  L.attention.o = mat(hidden, H * D);
  if (gpt_oss) {
    L.attention.qkv_bias = 0.1 * at::randn({(H + 2 * KV) * D});
    L.attention.o_bias = 0.1 * at::randn({hidden});
    L.attention.sinks = at::randn({H});
    L.attention.window = 3;
  } else {
    L.attention.q_norm = 1 + 0.1 * at::randn({D});
    L.attention.k_norm = 1 + 0.1 * at::randn({D});
  }
  L.dense = {mat(I, hidden), mat(I, hidden), mat(hidden, I)};
  s.spec.head_dim = D;
  s.spec.norm = gpt_oss ? RmsNormKind::WeightThenCast : RmsNormKind::CastThenWeight;
  RopeConfig rope;
  s.rotary = std::make_unique<Rotary>(rope, D, 4096, "test");
  s.embed = at::randn({32, hidden});
  return s;
}

// One forward of the layer over `rows` (token ids < 32) through `cache`, as NativeModel::forward
// lays out the grid: the fresh positions right-aligned, left padding at position 0.
at::Tensor layer_step(const LayerSetup& s, KvCache& cache, const std::vector<std::vector<int64_t>>& rows) {
  const StepPlan plan = cache.plan(rows, std::vector<int64_t>(rows.size(), 1));
  const int64_t B = plan.rows, T = plan.columns;
  auto ids = at::zeros({B, T}, at::kLong), pos = at::zeros({B, T}, at::kLong);
  auto real = at::zeros({B, T}, at::kBool);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < plan.fresh[size_t(b)]; ++i) {
      const int64_t c = plan.first_column(b) + i, p = plan.past[size_t(b)] + i;
      ids[b][c] = rows[size_t(b)][size_t(p)];
      pos[b][c] = p;
      real[b][c] = true;
    }
  ForwardContext ctx(plan, pos, real, *s.rotary, at::kFloat);
  auto out = decoder_layer(s.layer, 0, s.spec, at::embedding(s.embed, ids), ctx, cache, nullptr);
  cache.commit(rows);
  return out;
}

}  // namespace

TEST_CASE("a fused decoder layer equals the torch ops through the KV cache", "[native][cpu_decode]") {
  c10::InferenceMode guard;
  at::manual_seed(7);
  std::vector<int64_t> long_row(20);
  for (size_t i = 0; i < long_row.size(); ++i) long_row[i] = int64_t(i % 31);
  auto longer = long_row;
  longer.push_back(5);
  // A long cache: each (token, kv head) item of the decode step is then worth its own thread.
  std::vector<int64_t> context(1200);
  for (size_t i = 0; i < context.size(); ++i) context[i] = int64_t((i * 7) % 32);
  auto context_next = context;
  context_next.push_back(3);
  // Prefill with padding, decode with rows at different positions, uneven fresh counts; one row
  // (the aligned cache copy); a prefill past kCpuFusedMaxRows (torch ops) then a fused decode
  // step that reads the keys the torch path cached; the same over 1200 cached keys, two threads.
  using Rows = std::vector<std::vector<int64_t>>;
  const std::vector<std::vector<Rows>> scripts = {
      {Rows{{1, 2, 3, 4, 5}, {6, 7, 8}}, Rows{{1, 2, 3, 4, 5, 9}, {6, 7, 8, 10}},
       Rows{{1, 2, 3, 4, 5, 9, 11, 12}, {6, 7, 8, 10, 13}}},
      {Rows{{3, 1, 4, 1, 5}}, Rows{{3, 1, 4, 1, 5, 9}}},
      {Rows{long_row}, Rows{longer}},
      {Rows{context, long_row}, Rows{context_next, longer}},
  };
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  for (bool gpt_oss : {false, true}) {
    const auto s = make_layer(gpt_oss);
    for (size_t k = 0; k < scripts.size(); ++k) {
      KvCache fused_cache(1), torch_cache(1);
      for (size_t step = 0; step < scripts[k].size(); ++step) {
        const auto& rows = scripts[k][step];
        const auto before = cpu_fused_counts().attention;
        const auto fused = layer_step(s, fused_cache, rows);
        const bool few = fused.size(0) * fused.size(1) <= kCpuFusedMaxRows;
        CHECK(cpu_fused_counts().attention == before + (few ? 1 : 0));
        const auto ref = torch_path([&] { return layer_step(s, torch_cache, rows); });
        // Chained reductions: the two norms' means, q·k, the sum over keys, o, gate/up, down — 7 —
        // and the per-head norms (Qwen3) or the sinks' softmax term: 8; the longest has 64 terms
        // (hidden size) or one per key.
        int64_t longest = 64;
        for (const auto& r : rows) longest = std::max<int64_t>(longest, static_cast<int64_t>(r.size()));
        const double tol = test::fp32_reorder_tolerance(ref.abs().max().item<double>(), longest, 8);
        INFO((gpt_oss ? "gpt-oss" : "qwen3") << " script " << k << " step " << step);
        REQUIRE(fused.sizes() == ref.sizes());
        CHECK(test::within("fused decoder layer vs torch", max_abs_diff(fused, ref), tol));
      }
    }
  }
  at::set_num_threads(threads);
}

TEST_CASE("fused routing picks what at::topk picks, and leaves ties to it", "[native][cpu_decode]") {
  c10::InferenceMode guard;
  at::manual_seed(3);
  const auto logits = at::randn({5, 64}) * 2;
  for (const auto& rule : {qwen_moe_rule(8, true), qwen_moe_rule(8, false), gpt_oss_rule(4)}) {
    INFO(rule.to_string());
    const auto fused = cpu_route(rule, logits);
    REQUIRE(fused);
    const auto ref = route_tensor(rule, logits);
    CHECK(at::equal(fused->ids, ref.ids));
    // Both softmaxes round the same steps (exp differs by < 1 ulp between Sleef and glibc; sums
    // by order): a few u relative, far below what a wrong weight would move.
    const double scale = ref.weights.abs().max().item<double>();
    CHECK(test::within("fused routing weights vs torch", max_abs_diff(fused->weights, ref.weights),
                       test::fp32_reorder_tolerance(scale, 64, 2) + test::fp32_tolerance(8, scale)));
  }
  // Equal logits: the order is at::topk's, so no fused answer; the same for other rules and dtypes.
  auto tied = logits.clone();
  tied[2][5] = 50.0f;
  tied[2][9] = 50.0f;
  CHECK_FALSE(cpu_route(qwen_moe_rule(8, true), tied));
  CHECK_FALSE(cpu_route(gpt_oss_rule(4), tied));
  CHECK_FALSE(cpu_route(deepseek_v2_rule(4, DeepSeekTopKMethod::Greedy, 1, 1, 1.0, true), logits));
  CHECK_FALSE(cpu_route(gpt_oss_rule(4), logits.to(at::kBFloat16)));
}

TEST_CASE("the fused combine equals (y · w).sum over the slots", "[native][cpu_decode]") {
  c10::InferenceMode guard;
  const int64_t N = 3, k = 8, H = 40;
  const auto y = at::randn({N * k, H}), w = at::rand({N, k});
  const auto ref = (y.view({N, k, H}) * w.unsqueeze(-1)).sum(1);
  const auto fused = cpu_combine(y, w);
  // k rounded products summed in some order: γ_k · Σ|y·w| each, twice for two orders.
  const double mag = (y.view({N, k, H}).abs() * w.unsqueeze(-1)).sum(1).max().item<double>();
  CHECK(test::within("fused combine vs torch", max_abs_diff(fused, ref), 2 * test::fp32_gamma(k) * mag));
}

TEST_CASE("the built-in models decode on the fused path and prefill long prompts on torch ops", "[native][cpu_decode]") {
  for (const std::string id : {"builtin:tiny-qwen3-moe", "builtin:tiny-gpt-oss"}) {
    INFO(id);
    ModelOptions o;
    auto model = load_model(id, o);
    const int64_t layers = static_cast<int64_t>(model->info().moe_layers.size());  // every layer is MoE
    ForwardRequest r;
    r.rows = {{1, 2, 3}};
    r.record_last = {0};
    auto before = cpu_fused_counts();
    model->forward(r, nullptr);
    auto after = cpu_fused_counts();
    CHECK(after.attention - before.attention == layers);
    CHECK(after.norms - before.norms == 2 * layers + 1);  // two per layer, the final norm
    CHECK(after.routes - before.routes == layers);        // random logits: no ties
    CHECK(after.combines - before.combines == layers);
    // A 20-token prompt: the layers run the torch ops; only the head's norm of one row is fused.
    r.rows = {std::vector<int64_t>(20, 7)};
    before = cpu_fused_counts();
    model->forward(r, nullptr);
    after = cpu_fused_counts();
    CHECK(after.attention == before.attention);
    CHECK(after.norms - before.norms == 1);
    CHECK(after.routes == before.routes);
    // bfloat16 on the CPU: the torch ops throughout.
    o.dtype = parse_model_dtype("bfloat16");
    auto bf16 = load_model(id, o);
    r.rows = {{1, 2, 3}};
    before = cpu_fused_counts();
    bf16->forward(r, nullptr);
    after = cpu_fused_counts();
    CHECK((after.attention == before.attention && after.norms == before.norms && after.routes == before.routes &&
           after.combines == before.combines));
  }
}
