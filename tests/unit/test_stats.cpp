// Routing statistics against hand-computed values, and the exact-merge guarantee: any split of
// the input (chunks, separately accumulated parts, saved states) gives the one-pass state bit
// for bit. (NumPy comparisons on a committed fixture: tests/cli/test_cli_stats.py.)
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "analysis/stats/entropy_kernel.h"
#include "dataset_fixtures.h"
#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/stats.h"
#include "moeroute/stats_output.h"
#include "temp_dir.h"

using namespace moeroute;
using Catch::Detail::Approx;

namespace {

using test::fp64_tolerance;

// Tolerance for a per-token entropy over E experts, in bits. The kernel's float32 exp and log are
// within 2 ulp = 2^-22 relative (checked below); with p_i = e_i / Z, H = ln Z − Σ p_i d_i (nats),
// a relative error ε in each e_i moves H by at most ε · Σ p_i |d_i − H + 1| ≤ ε (ln E + E/e + 1)
// (p·|ln p| ≤ 1/e), and ln Z's own rounding adds ε. Means and standard deviations of values that
// are each within this stay within it.
double entropy_tolerance(int experts) {
  const double eps = std::ldexp(1.0, -22);
  return eps * (std::log(static_cast<double>(experts)) + experts / std::exp(1.0) + 2) / std::log(2.0);
}
const double kEntropyTol = entropy_tolerance(4);  // the worked example's 4 experts

// Two layers, 4 experts, top-2, one sequence of 4 tokens (the worked example in docs/metrics.md).
RouterTrace worked_example() {
  RouterTrace t;
  t.meta.model_id = "hand";
  t.layers = {{"layers.0.gate", 0}, {"layers.1.gate", 1}};
  t.num_experts = 4;
  t.top_k = 2;
  t.num_positions = 4;
  t.topk_ids = {0, 1, 0, 2, 0, 1, 3, 0,   // layer 0
                2, 3, 2, 0, 2, 3, 1, 2};  // layer 1
  t.gate_weights = {0.75f, 0.25f, 0.5f, 0.5f, 1.0f, 0.0f, 0.6f, 0.4f,
                    0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  const float ln3 = std::log(3.0f);
  t.router_logits = {0, 0, 0, 0, ln3, 0, 0, 0, 100, 0, 0, 0, 1, 1, 1, 1,
                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  t.token_ids = {5, 6, 5, 7};
  t.token_text = {"a", "b", "a", "c"};
  return t;
}

StatsOptions small_options() {
  StatsOptions o;
  o.entropy_bins = 4;
  o.dominant_ratio = 1.5;
  o.position_window = 2;
  o.min_token_count = 2;
  return o;
}

RouterTrace rows_of(const RouterTrace& t, int64_t begin, int64_t end) {
  RouterTrace out = t;
  const auto T = static_cast<size_t>(t.num_positions), n = static_cast<size_t>(end - begin);
  auto slice = [&](auto& dst, const auto& src, size_t w) {
    dst.clear();
    if (src.empty()) return;
    for (size_t l = 0; l < t.layers.size(); ++l)
      dst.insert(dst.end(), src.begin() + static_cast<std::ptrdiff_t>((l * T + static_cast<size_t>(begin)) * w),
                 src.begin() + static_cast<std::ptrdiff_t>((l * T + static_cast<size_t>(end)) * w));
  };
  slice(out.topk_ids, t.topk_ids, static_cast<size_t>(t.top_k));
  slice(out.gate_weights, t.gate_weights, static_cast<size_t>(t.top_k));
  slice(out.router_logits, t.router_logits, static_cast<size_t>(t.num_experts));
  auto rows = [&](auto& dst, const auto& src) {
    if (!src.empty()) dst.assign(src.begin() + begin, src.begin() + end);
  };
  rows(out.token_ids, t.token_ids);
  rows(out.token_text, t.token_text);
  rows(out.sequence_ids, t.sequence_ids);
  rows(out.positions, t.positions);
  rows(out.segments, t.segments);
  out.num_positions = static_cast<int64_t>(n);
  return out;
}

}  // namespace

TEST_CASE("Counts, utilisation, load balance and capacity overflow by hand", "[stats]") {
  RoutingStats s(small_options());
  s.add(worked_example(), "hand.safetensors");
  const StatsReport r = s.report();
  REQUIRE(r.layer_stats.size() == 2);
  const LayerStats& l = r.layer_stats[0];
  CHECK(l.tokens == 4);
  CHECK(l.experts[0].count == 4);
  CHECK(l.experts[1].count == 2);
  CHECK(l.experts[0].top1_count == 3);
  CHECK(l.experts[3].top1_count == 1);
  CHECK(l.experts[0].utilisation == 0.5);
  CHECK(l.experts[0].token_fraction == 1.0);
  // 0.75 + 0.5 + 1 + 0.4f: only 0.4f is inexact (≤ 0.4·u32), and each of the 4 values is rounded
  // to a multiple of 2^-40 (≤ 2^-41 each) before the exact integer sum.
  CHECK(l.experts[0].weight_sum == Approx(2.65).epsilon(0).margin(0.4 * test::kF32Unit + 4 * std::ldexp(1.0, -41)));
  CHECK(l.experts[1].mean_weight == 0.125);  // (0.25 + 0) / 2: every step exact
  CHECK(l.cv == Approx(std::sqrt(1.5) / 2).epsilon(0).margin(fp64_tolerance(8)));  // from integer counts: a few ops
  CHECK(l.max_over_mean == 2.0);
  CHECK(l.min_over_mean == 0.5);
  CHECK(l.gini == Approx(0.3125).epsilon(0).margin(fp64_tolerance(2)));  // an integer ratio, 5/16
  CHECK(l.dominant == std::vector<int>{0});
  CHECK(l.dead.empty());
  CHECK(r.layer_stats[1].experts[3].count == 2);
  // Capacity ceil(c·K·n/E): 2 at c = 1 (expert 0 drops 2 of its 4), 3 at c = 1.25 (drops 1).
  REQUIRE(l.capacity.size() == 2);
  CHECK(l.capacity[0].dropped == 2);
  CHECK(l.capacity[0].assigned == 8);
  CHECK(l.capacity[0].overflow_fraction == 0.25);
  CHECK(l.capacity[1].overflow_fraction == 0.125);
  CHECK(l.top_experts.front() == 0);
  CHECK(l.bottom_experts.front() == 2);  // counts 1 and 1: lower id first
  // Co-activation over all pairs of the top-2.
  REQUIRE(l.pairs.size() == 3);
  CHECK(l.pairs[0].a == 0);
  CHECK(l.pairs[0].b == 1);
  CHECK(l.pairs[0].count == 2);
  CHECK(l.pairs[0].lift == 1.0);
  CHECK(l.pairs[1].b == 2);
}

TEST_CASE("Router entropy over the full softmax and over the top-k weights, in bits", "[stats]") {
  RoutingStats s(small_options());
  s.add(worked_example());
  const StatsReport r = s.report();
  const LayerStats& l = r.layer_stats[0];
  REQUIRE(l.has_entropy_full);
  // Tokens: uniform (2 bits), softmax [3,1,1,1]/6 (0.5 + 0.5·log2 6), one logit 100 above (≈ 0), uniform.
  const double h1 = 0.5 + 0.5 * std::log2(6.0);
  CHECK(l.entropy_full.mean == Approx((4 + h1) / 4).epsilon(0).margin(kEntropyTol));
  CHECK(l.entropy_full.max == Approx(2).epsilon(0).margin(kEntropyTol));
  CHECK(l.entropy_full.min == Approx(0).epsilon(0).margin(kEntropyTol));
  CHECK(l.entropy_full.max_possible == 2);
  CHECK(l.entropy_full.histogram == std::vector<int64_t>{1, 0, 0, 3});
  const double hs[] = {2, h1, 0, 2};
  double m = (hs[0] + hs[1] + hs[2] + hs[3]) / 4, v = 0;
  for (double h : hs) v += (h - m) * (h - m) / 4;
  CHECK(l.entropy_full.std == Approx(std::sqrt(v)).epsilon(0).margin(kEntropyTol));
  // Top-2 weights: H(.75,.25), H(.5,.5) = 1, H(1,0) = 0, H(.6,.4).
  auto h2 = [](double p) { return -p * std::log2(p) - (1 - p) * std::log2(1 - p); };
  CHECK(l.entropy_topk.mean == Approx((h2(0.75) + 1 + 0 + h2(0.6)) / 4).epsilon(0).margin(kEntropyTol));
  CHECK(l.entropy_topk.max_possible == 1);
  CHECK(r.layer_stats[1].entropy_full.mean == Approx(2).epsilon(0).margin(kEntropyTol));
}

TEST_CASE("The entropy kernel's own exp and log", "[stats]") {
  // The kernel's contract (docs/metrics.md): float32 exp and log within 2 ulp (2^-22 relative; the
  // log of x ≈ 1 within 2 ulp of 1 absolute, where its value is near 0), double log within 4 ulp
  // (2^-50) — against libm in double, itself within 1 ulp of double.
  const double f32 = std::ldexp(1.0, -22), f64 = std::ldexp(1.0, -50);
  for (float x : {0.0f, -1e-3f, -0.5f, -1.0f, -10.0f, -50.0f, -87.0f})
    CHECK(detail::det_expf(x) == Approx(std::exp(static_cast<double>(x))).epsilon(f32));
  for (float x : {1e-30f, 1e-5f, 0.3f, 1.0f, 1.7f, 123.0f, 3e38f})
    CHECK(detail::det_logf(x) == Approx(std::log(static_cast<double>(x))).epsilon(f32).margin(f32));
  for (double x : {1.0, 1.5, 2.0, 7.77, 128.0, 1e10})
    CHECK(detail::det_log(x) == Approx(std::log(x)).epsilon(f64).margin(f64));
  const float nan_logits[] = {0.0f, std::nanf(""), 1.0f};
  CHECK(std::isnan(detail::softmax_entropy_bits(nan_logits, 3)));
  const float inf_logits[] = {0.0f, INFINITY};
  CHECK(std::isnan(detail::softmax_entropy_bits(inf_logits, 2)));
  // 9 logits: the 8-lane main loop plus a tail.
  float x[9];
  double z = 0, moment = 0;
  for (int i = 0; i < 9; ++i) x[i] = 0.3f * static_cast<float>(i) - 1;
  for (int i = 0; i < 9; ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(x[8]);
    z += std::exp(d);
    moment += std::exp(d) * d;
  }
  CHECK(detail::softmax_entropy_bits(x, 9) ==
        Approx((std::log(z) - moment / z) / std::log(2.0)).epsilon(0).margin(entropy_tolerance(9)));
}

TEST_CASE("Cross-layer consistency, token → expert and position windows by hand", "[stats]") {
  RoutingStats s(small_options());
  s.add(worked_example());
  const StatsReport r = s.report();
  REQUIRE(r.cross_layer.size() == 1);
  const CrossLayerStats& c = r.cross_layer[0];
  // First choices: layer 0 (0, 0, 0, 3) → layer 1 (2, 2, 2, 1): layer 1 is a function of layer 0.
  // Entropies of count distributions (n = 4) in double: ≤ 6 operations per cell of 2 × 4, values
  // ≤ 2 bits; the literal 0.8112781245 = H(¾, ¼) rounded to 10 decimals (≤ 5e-11 off).
  CHECK(c.entropy_next == Approx(0.8112781245).epsilon(0).margin(5e-11 + fp64_tolerance(6 * 8, 2)));
  CHECK(c.conditional_entropy == Approx(0).epsilon(0).margin(fp64_tolerance(6 * 8, 2)));
  CHECK(c.normalised_mi == Approx(1).epsilon(0).margin(fp64_tolerance(6 * 8 + 2, 2)));
  CHECK(c.accuracy == 1.0);
  CHECK(c.baseline_accuracy == 0.75);
  // Expert 0 of layer 0 takes tokens 5, 6, 5, 7.
  REQUIRE(r.token_experts.size() == 8);
  const TokenExpertStats& t = r.token_experts[0];
  CHECK(t.layer == 0);
  CHECK(t.expert == 0);
  CHECK(t.assignments == 4);
  CHECK(t.distinct_tokens == 3);
  CHECK(t.vocab_entropy == Approx(1.5).epsilon(0).margin(fp64_tolerance(6 * 3, 2)));  // H(½, ¼, ¼) from counts
  REQUIRE(t.top_tokens.size() == 3);
  CHECK(t.top_tokens[0].token_id == 5);
  CHECK(t.top_tokens[0].text == "a");
  CHECK(t.top_tokens[0].share_of_token == 1.0);
  CHECK(t.top_tokens[0].share_of_expert == 0.5);
  REQUIRE(t.specialised_tokens.size() == 1);  // only token 5 occurs twice
  CHECK(t.specialised_tokens[0].token_id == 5);
  // Windows of 2 positions.
  REQUIRE(r.windows.size() == 2);
  CHECK(r.windows[0].tokens == 2);
  CHECK(r.windows[0].counts[0] == std::vector<int64_t>{2, 1, 1, 0});
  CHECK(r.windows[0].entropy[0] == Approx(1.5).epsilon(0).margin(fp64_tolerance(6 * 4, 2)));  // H(½, ¼, ¼, 0)
  // The seed's frequency report.
  CHECK(r.global.selections == 16);
  CHECK(r.global.uniform_percent == 25);
  CHECK(r.global.top_experts.front() == std::pair<int, int64_t>{0, 5});
}

TEST_CASE("Per-dataset utilisation, divergence between datasets, loss and per-sample rows", "[stats]") {
  RouterTrace t = test::top1_trace(2, {0, 0, 1, 0}, 0);
  t.meta.model_id = "m";
  t.sequence_ids = {10, 10, 11, 11};
  t.positions = {0, 1, 0, 1};
  t.sequences = {{10, "x", 2.0, 2}, {11, "y", 1.0, 2}};
  t.token_ids = {1, 2, 1, 2};
  RoutingStats s;
  s.add(t, "f");
  const StatsReport r = s.report();
  REQUIRE(r.datasets.size() == 2);
  CHECK(r.datasets[0].label == "x");
  CHECK(r.datasets[0].utilisation[0] == std::vector<double>{1.0, 0.0});
  CHECK(r.datasets[1].utilisation[0] == std::vector<double>{0.5, 0.5});
  CHECK(r.datasets[0].mean_loss == 2.0);
  CHECK(r.datasets[1].token_weighted_loss == 1.0);
  REQUIRE(r.dataset_divergence.size() == 1);
  // JSD((1, 0), (½, ½)) in double; the literal is rounded to 10 decimals (≤ 5e-11 off).
  CHECK(r.dataset_divergence[0].mean_jsd == Approx(0.3112781245).epsilon(0).margin(5e-11 + fp64_tolerance(6 * 2, 4)));
  REQUIRE(r.sample_stats.size() == 2);
  CHECK(r.sample_stats[1].id == 11);
  CHECK(r.sample_stats[1].label == "y");
  CHECK(r.sample_stats[1].tokens == 2);
  CHECK(std::isnan(r.sample_stats[0].entropy_full_mean));
  // Capacity 1 per group of 2 tokens at c = 1 (ceil(1·1·2/2)): sample 10 sends both to expert 0.
  CHECK(r.sample_stats[0].overflow_fraction[0] == 0.5);
  CHECK(r.sample_stats[1].overflow_fraction[0] == 0.0);
}

TEST_CASE("Capacity groups of N tokens, and a sequence continued across chunks", "[stats]") {
  RouterTrace t = test::top1_trace(2, {0, 0, 0, 0, 1, 1}, 0);
  t.meta.model_id = "m";
  StatsOptions o;
  o.capacity_group = 2;  // groups {0,1}, {2,3}, {4,5}: capacity 1 each at c = 1
  RoutingStats s(o);
  s.add(t, "f");
  CHECK(s.report().layer_stats[0].capacity[0].dropped == 3);
  // The same sequence in three chunks of 2 rows: one sequence, the same groups, the same state.
  RoutingStats whole, parts;
  whole.add(t, "f");
  for (int64_t b = 0; b < 6; b += 2) parts.add(rows_of(t, b, b + 2), "f");
  CHECK(parts.serialize() == whole.serialize());
  CHECK(parts.report().layer_stats[0].capacity[0].dropped == 1);  // one group of 6, capacity 3: expert 0 drops 1
}

TEST_CASE("Any split into chunks and parts merges to the one-pass state, bit for bit", "[stats]") {
  const RouterTrace all = test::sample_chunk(0, 40, 3, 8, 2);
  RoutingStats one;
  one.add(all, "data");
  const std::string want = one.serialize();

  RoutingStats chunked;
  for (int64_t b = 0; b < 40; b += 7) chunked.add(test::sample_chunk(b, std::min<int64_t>(7, 40 - b), 3, 8, 2), "data");
  CHECK(chunked.serialize() == want);

  // Three parts accumulated separately, merged in another order, one of them through a state file.
  RoutingStats a, b, c;
  a.add(test::sample_chunk(0, 11, 3, 8, 2), "data");
  b.add(test::sample_chunk(11, 20, 3, 8, 2), "data");
  c.add(test::sample_chunk(31, 9, 3, 8, 2), "data");
  test::TempDir dir;
  {
    std::ofstream f(dir / "b.stats", std::ios::binary);
    f << b.serialize();
  }
  RoutingStats merged;
  merged.merge(std::move(c));
  merged.merge(RoutingStats::load(dir / "b.stats"));
  merged.merge(std::move(a));
  CHECK(merged.serialize() == want);
  CHECK(stats_json(merged.report()) == stats_json(one.report()));
}

TEST_CASE("Mixing models, counting a sequence twice, or merging other options is refused", "[stats]") {
  RoutingStats s;
  s.add(test::sample_chunk(0, 2), "a");
  CHECK_THROWS_WITH(s.add(test::sample_chunk(2, 2, 3, 8, 2, "other-model"), "b"),
                    Catch::Contains("b: traces of different models or shapes cannot be combined") &&
                        Catch::Contains("model 'other-model' vs 'test-model'"));
  CHECK_THROWS_WITH(s.add(test::sample_chunk(2, 2, 4), "b"), Catch::Contains("4 vs 3 layers"));
  s.add(test::sample_chunk(2, 2), "a");
  CHECK_THROWS_WITH(s.add(test::sample_chunk(0, 1), "a"), Catch::Contains("sequence 0 appears again"));
  RoutingStats t;
  t.add(test::sample_chunk(1, 1), "a");
  CHECK_THROWS_WITH(s.merge(std::move(t)), Catch::Contains("sequence 1 of 'a' is in both"));
  StatsOptions o;
  o.position_window = 64;
  RoutingStats u(o);
  u.add(test::sample_chunk(9, 1), "a");
  CHECK_THROWS_WITH(s.merge(std::move(u)), Catch::Contains("different options"));
  RouterTrace bad = test::sample_chunk(0, 1);
  bad.router_logits[3] = NAN;
  RoutingStats v;
  CHECK_THROWS_WITH(v.add(bad, "x"), Catch::Contains("router logits at layer 0, row 0 are not finite"));
}

TEST_CASE("Physical expert ids are counted as their logical experts", "[stats]") {
  RouterTrace t = test::top1_trace(4, {0, 1, 2, 3}, 0);
  t.id_space = ExpertIdSpace::Physical;
  t.num_logical_experts = 2;
  t.physical_to_logical = {0, 1, 0, 1};
  RoutingStats s;
  s.add(t);
  const StatsReport r = s.report();
  CHECK(r.num_experts == 2);
  CHECK(r.layer_stats[0].experts[0].count == 2);
  t.physical_to_logical.clear();
  t.num_logical_experts = 0;
  RoutingStats u;
  CHECK_THROWS_AS(u.add(t), UnsupportedError);
}

TEST_CASE("The token table is dropped, with a note, beyond its size limit", "[stats]") {
  StatsOptions o;
  o.max_token_table_bytes = 100;  // 3 layers × 8 experts × 4 bytes = 96 per token
  RoutingStats s(o);
  s.add(test::sample_chunk(0, 5));
  const StatsReport r = s.report();
  CHECK(r.token_experts.empty());
  REQUIRE_FALSE(r.notes.empty());
  CHECK_THAT(r.notes.back(), Catch::Contains("would exceed 100 bytes"));
}

TEST_CASE("The AVX2 entropy kernels give the portable kernels' bits", "[stats]") {
  // Both kernels promise the same IEEE operations in the same order, so equality is exact. Rows of
  // every length 1…70 (tails of each size) and 128, 129, logits from a hand-rolled generator
  // (std distributions differ by library), spreads from 1e-3 to 200 (exp underflow clamped), some
  // with ties at the maximum, probabilities with zeros, and the NaN/inf/negative cases.
  INFO("kernel in use: " << detail::entropy_kernel_isa());
  uint64_t state = 12345;
  auto uniform = [&state] {  // xorshift64*, in [0, 1)
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<double>((state * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
  };
  auto same = [](double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  std::vector<int> lengths;
  for (int n = 1; n <= 70; ++n) lengths.push_back(n);
  lengths.insert(lengths.end(), {128, 129, 256});
  int checked = 0;
  for (int n : lengths)
    for (double spread : {1e-3, 1.0, 4.0, 30.0, 200.0})
      for (int rep = 0; rep < 4; ++rep) {
        std::vector<float> x(static_cast<size_t>(n)), p(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) {
          x[static_cast<size_t>(i)] = static_cast<float>((uniform() - 0.5) * spread);
          p[static_cast<size_t>(i)] = uniform() < 0.2 ? 0.0f : static_cast<float>(uniform() * spread);
        }
        if (rep == 1) x[static_cast<size_t>(n) / 2] = x[0];  // a tie
        const double a = detail::softmax_entropy_bits(x.data(), n), b = detail::softmax_entropy_bits_portable(x.data(), n);
        const double c = detail::distribution_entropy_bits(p.data(), n),
                     d = detail::distribution_entropy_bits_portable(p.data(), n);
        CHECK(same(a, b));
        CHECK((same(c, d) || (std::isnan(c) && std::isnan(d))));
        ++checked;
      }
  CHECK(checked == static_cast<int>(lengths.size()) * 20);
  for (int n : {3, 8, 11, 128}) {
    for (int at : {0, 1, n - 1}) {
      for (float bad : {std::nanf(""), INFINITY, -INFINITY, -1.0f}) {
        std::vector<float> x(static_cast<size_t>(n), 0.5f);
        x[static_cast<size_t>(at)] = bad;
        const double a = detail::softmax_entropy_bits(x.data(), n), b = detail::softmax_entropy_bits_portable(x.data(), n);
        CHECK((same(a, b) || (std::isnan(a) && std::isnan(b))));
        CHECK(std::isnan(detail::distribution_entropy_bits(x.data(), n)));  // negative, NaN or infinite
        CHECK(std::isnan(detail::distribution_entropy_bits_portable(x.data(), n)));
      }
    }
  }
}

TEST_CASE("Co-activation pairs are listed by count, ties in (a, b) order, for small and large counts", "[stats]") {
  // The report orders pairs by a counting sort when the counts are small next to the number of
  // pairs and by a comparison sort otherwise; both must give the stable order. Pairs of 6 experts,
  // top-2, chosen `scale` × {3, 1, 3, 2, 1} times: (0,1) and (2,5) tie, as do (1,4) and (3,4).
  for (int64_t scale : {1, 400}) {
    const std::vector<std::pair<std::array<int32_t, 2>, int64_t>> plan = {
        {{1, 0}, 3}, {{4, 1}, 1}, {{2, 5}, 3}, {{3, 0}, 2}, {{3, 4}, 1}};
    RouterTrace t;
    t.meta.model_id = "pairs";
    t.layers = {{"layers.0.gate", 0}};
    t.num_experts = 6;
    t.top_k = 2;
    for (const auto& [ids, times] : plan)
      for (int64_t i = 0; i < times * scale; ++i) t.topk_ids.insert(t.topk_ids.end(), ids.begin(), ids.end());
    t.num_positions = static_cast<int64_t>(t.topk_ids.size() / 2);
    RoutingStats s;
    s.add(t);
    const std::vector<CoactivationPair> pairs = s.report().layer_stats[0].pairs;
    REQUIRE(pairs.size() == 5);
    const int want[5][2] = {{0, 1}, {2, 5}, {0, 3}, {1, 4}, {3, 4}};
    const int64_t counts[5] = {3, 3, 2, 1, 1};
    for (size_t i = 0; i < 5; ++i) {
      CHECK(pairs[i].a == want[i][0]);
      CHECK(pairs[i].b == want[i][1]);
      CHECK(pairs[i].count == counts[i] * scale);
    }
  }
}

TEST_CASE("Counts of long chunks (staged tables flushed mid-layer) equal a direct count", "[stats]") {
  // 8 experts, top-8: a co-activation cell gains at most 28 per row (a row repeating one id), so
  // the 16-bit staging table is flushed every 2340 rows; rows of 8 distinct ids hold every pair,
  // so over 70 000 rows in one chunk the counts pass 2^16. The reference counts directly in int64.
  const int L = 2, E = 8, K = 8, T = 70000, V = 50;
  RouterTrace t;
  t.meta.model_id = "long";
  for (int l = 0; l < L; ++l) t.layers.push_back({"layers." + std::to_string(l), l});
  t.num_experts = E;
  t.top_k = K;
  t.num_positions = T;
  uint64_t state = 99;
  auto next = [&state](uint64_t n) {  // xorshift64*
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<int64_t>(((state * 2685821657736338717ULL) >> 33) % n);
  };
  for (int l = 0; l < L; ++l)
    for (int r = 0; r < T; ++r) {
      const bool repeat = r % 97 == 0;
      const int32_t first = static_cast<int32_t>(next(E));
      for (int k = 0; k < K; ++k)
        t.topk_ids.push_back(repeat ? first : static_cast<int32_t>((first + 3 * k) % E));
    }
  for (int r = 0; r < T; ++r) t.token_ids.push_back(1000 + next(V) * next(V));
  RoutingStats s;
  s.add(t);
  const StatsReport rep = s.report();
  auto id = [&](int l, int r, int k) { return t.topk_ids[(static_cast<size_t>(l) * T + static_cast<size_t>(r)) * K + static_cast<size_t>(k)]; };
  for (int l = 0; l < L; ++l) {
    std::vector<int64_t> co(E * E, 0), cr(E * E, 0);
    for (int r = 0; r < T; ++r) {
      for (int a = 0; a < K; ++a)
        for (int b = a + 1; b < K; ++b) ++co[static_cast<size_t>(std::min(id(l, r, a), id(l, r, b)) * E + std::max(id(l, r, a), id(l, r, b)))];
      if (l + 1 < L) ++cr[static_cast<size_t>(id(l, r, 0) * E + id(l + 1, r, 0))];
    }
    std::vector<int64_t> got(E * E, 0);
    for (const CoactivationPair& p : rep.layer_stats[static_cast<size_t>(l)].pairs) got[static_cast<size_t>(p.a * E + p.b)] = p.count;
    for (int a = 0; a < E; ++a)
      for (int b = a + 1; b < E; ++b) CHECK(got[static_cast<size_t>(a * E + b)] == co[static_cast<size_t>(a * E + b)]);
    if (l + 1 < L) {
      int64_t best = 0;
      for (int a = 0; a < E; ++a) best += *std::max_element(cr.begin() + a * E, cr.begin() + (a + 1) * E);
      CHECK(rep.cross_layer[static_cast<size_t>(l)].tokens == T);
      CHECK(rep.cross_layer[static_cast<size_t>(l)].accuracy == static_cast<double>(best) / T);
    }
    // Token → expert: assignments and distinct tokens per expert.
    std::vector<std::set<int64_t>> tokens(E);
    std::vector<int64_t> assignments(E, 0);
    for (int r = 0; r < T; ++r)
      for (int k = 0; k < K; ++k) {
        tokens[static_cast<size_t>(id(l, r, k))].insert(t.token_ids[static_cast<size_t>(r)]);
        ++assignments[static_cast<size_t>(id(l, r, k))];
      }
    for (const TokenExpertStats& x : rep.token_experts)
      if (x.layer == l) {
        CHECK(x.assignments == assignments[static_cast<size_t>(x.expert)]);
        CHECK(x.distinct_tokens == static_cast<int64_t>(tokens[static_cast<size_t>(x.expert)].size()));
      }
  }
}

TEST_CASE("A top-k so large that one row could wrap a 16-bit cell is counted directly", "[stats]") {
  // K = 370: a row repeating one id adds K(K−1)/2 = 68 265 > 2^16 − 1 to one co-activation cell.
  const int E = 370, K = 370;
  RouterTrace t;
  t.meta.model_id = "wide";
  t.layers = {{"layers.0", 0}};
  t.num_experts = E;
  t.top_k = K;
  t.num_positions = 2;
  for (int k = 0; k < K; ++k) t.topk_ids.push_back(k);  // every pair once
  for (int k = 0; k < K; ++k) t.topk_ids.push_back(5);  // (5, 5) on the diagonal, 68 265 times
  RoutingStats s;
  s.add(t);
  const auto pairs = s.report().layer_stats[0].pairs;
  CHECK(pairs.size() == static_cast<size_t>(E * (E - 1) / 2));
  bool all_once = true;
  for (const CoactivationPair& p : pairs) all_once = all_once && p.count == 1;
  CHECK(all_once);
  CHECK(s.report().layer_stats[0].experts[5].count == K + 1);
}
