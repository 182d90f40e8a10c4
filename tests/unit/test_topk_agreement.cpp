// Top-k agreement (docs/metrics.md, "Top-k agreement") with hand-computed values, token
// alignment, and `diff` of imported id-only traces against moeroute's own trace of the tokens.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "fp_tolerance.h"
#include "import_test_util.h"
#include "moeroute/diff.h"
#include "moeroute/topk_agreement.h"
#include "moeroute/trace_io.h"

using namespace moeroute;

namespace {

const std::filesystem::path kData = std::filesystem::path(MOEROUTE_TEST_DATA_DIR) / "import";

// One layer, top-2, ids per position given.
RouterTrace top2(const std::vector<std::array<int, 2>>& ids, int64_t prompt, int index = 0) {
  RouterTrace t;
  t.layers = {{"model.layers." + std::to_string(index) + ".mlp.gate", index}};
  t.num_experts = 6;
  t.top_k = 2;
  t.num_positions = static_cast<int64_t>(ids.size());
  t.prompt_length = prompt;
  t.allocate(false, false);
  for (size_t i = 0; i < ids.size(); ++i) {
    t.topk_ids[2 * i] = ids[i][0];
    t.topk_ids[2 * i + 1] = ids[i][1];
  }
  return t;
}

}  // namespace

TEST_CASE("Jaccard and flips per layer and step, by hand", "[agreement]") {
  // Prompt 1, generation steps at positions 0..3.
  const RouterTrace a = top2({{0, 1}, {2, 3}, {4, 5}, {0, 5}}, 1);
  const RouterTrace b = top2({{1, 0}, {2, 4}, {0, 1}, {0, 5}}, 1);
  const RowPairs pairs = generation_step_pairs(a, b);
  REQUIRE(pairs.size() == 3);
  const TopkAgreement r = topk_agreement(a, b, pairs);
  // Steps: {0,1} vs {1,0} same set (order only) → J 1; {2,3} vs {2,4} → 1/3; {4,5} vs {0,1} → 0.
  REQUIRE(r.jaccard.size() == 3);
  CHECK(r.jaccard[0] == 1.0);
  // Jaccard and the rates are one division of two integers: the correctly rounded quotient, equal
  // to the literal's bit for bit. Means add a sum of S terms ≤ 1 before their division.
  CHECK(r.jaccard[1] == 1.0 / 3.0);
  CHECK(r.jaccard[2] == 0.0);
  CHECK(r.flipped == std::vector<uint8_t>{0, 1, 1});
  CHECK(r.order_only == 1);
  CHECK(r.layer_flip_rate[0] == 2.0 / 3.0);
  CHECK(r.layer_mean_jaccard[0] == Approx((1.0 + 1.0 / 3.0) / 3.0).epsilon(0).margin(test::fp64_tolerance(3 + 1)));
  CHECK(r.steps_with_flip == 2);
  CHECK(r.any_layer_flip_fraction == 2.0 / 3.0);
  CHECK(r.flip_rate == 2.0 / 3.0);
}

TEST_CASE("expert counts per side, and parts accumulated equal the whole", "[agreement]") {
  const RouterTrace a = top2({{0, 1}, {2, 3}, {4, 5}, {0, 5}, {1, 2}}, 1);
  const RouterTrace b = top2({{1, 0}, {2, 4}, {0, 1}, {0, 5}, {3, 2}}, 1);
  const RowPairs all = generation_step_pairs(a, b);  // rows 0..3
  REQUIRE(all.size() == 4);
  const TopkAgreement whole = topk_agreement(a, b, all);
  // A chose {0,1} {2,3} {4,5} {0,5}: expert 0 twice, 5 twice, the others once.
  CHECK(whole.num_experts == 6);
  CHECK(whole.expert_counts_a == std::vector<int64_t>{2, 1, 1, 1, 1, 2});
  CHECK(whole.expert_counts_b == std::vector<int64_t>{3, 2, 1, 0, 1, 1});
  CHECK(whole.layer_flips == std::vector<int64_t>{2});
  RowPairs first, second;
  for (int64_t s = 0; s < all.size(); ++s) {
    (s < 1 ? first : second).a_rows.push_back(all.a_rows[static_cast<size_t>(s)]);
    (s < 1 ? first : second).b_rows.push_back(all.b_rows[static_cast<size_t>(s)]);
  }
  TopkAgreement sum;
  accumulate(sum, topk_agreement(a, b, first));
  accumulate(sum, topk_agreement(a, b, second));
  CHECK(sum.steps == 4);
  CHECK(sum.layer_flips == whole.layer_flips);
  CHECK(sum.layer_jaccard_sum[0] == Approx(whole.layer_jaccard_sum[0]).epsilon(1e-15));
  CHECK(sum.layer_mean_jaccard[0] == Approx(whole.layer_mean_jaccard[0]).epsilon(1e-15));
  CHECK(sum.flip_rate == whole.flip_rate);
  CHECK(sum.steps_with_flip == whole.steps_with_flip);
  CHECK(sum.any_layer_flip_fraction == whole.any_layer_flip_fraction);
  CHECK(sum.order_only == whole.order_only);
  CHECK(sum.expert_counts_a == whole.expert_counts_a);
  CHECK(sum.expert_counts_b == whole.expert_counts_b);
  CHECK(sum.jaccard.empty());  // per-step arrays are not kept
  const RouterTrace other_layer = top2({{0, 1}, {2, 3}}, 1, 3);
  CHECK_THROWS_AS(accumulate(sum, topk_agreement(other_layer, other_layer, generation_step_pairs(other_layer, other_layer))),
                  InputError);
}

TEST_CASE("token alignment pairs sequences and positions and checks the ids", "[agreement]") {
  RouterTrace a = top2({{0, 1}, {2, 3}, {4, 5}}, 1);
  a.token_ids = {10, 11, 12};
  RouterTrace b = top2({{0, 1}, {2, 3}}, 0);
  b.prompt_length = 0;
  b.sequence_ids = {7, 7};
  b.positions = {1, 2};  // B lacks position 0
  b.token_ids = {11, 12};
  const TokenAlignment t = align_tokens(a, b);
  CHECK(t.pairs.a_rows == std::vector<int64_t>{1, 2});
  CHECK(t.pairs.b_rows == std::vector<int64_t>{0, 1});
  CHECK(t.unmatched_a == 1);
  CHECK(t.unmatched_b == 0);
  CHECK(t.tokens_checked);
  b.token_ids[1] = 99;
  CHECK_THROWS_WITH(align_tokens(a, b), Catch::Contains("differ at position 2: token 12 vs 99"));
  TokenAlignmentOptions unchecked;
  unchecked.check_tokens = false;
  CHECK(align_tokens(a, b, unchecked).pairs.size() == 2);
  b.token_ids.clear();
  CHECK_THROWS_WITH(align_tokens(a, b), Catch::Contains("--no-token-check"));
  b.positions = {1, 1};
  CHECK_THROWS_WITH(align_tokens(a, b, unchecked), Catch::Contains("two rows at position 1"));
}

TEST_CASE("layers are matched by model index, whatever their names", "[agreement]") {
  const RouterTrace a = top2({{0, 1}, {2, 3}}, 1, 5);
  RouterTrace b = top2({{0, 1}, {2, 3}}, 1, 5);
  b.layers[0].name = "layers.5";
  CHECK(topk_agreement(a, b, generation_step_pairs(a, b)).flip_rate == 0.0);
  b.layers[0].index = 6;
  CHECK_THROWS_WITH(topk_agreement(a, b, generation_step_pairs(a, b)), Catch::Contains("share no layer index"));
}

TEST_CASE("an imported vLLM trace agrees with moeroute's own trace of the same tokens", "[agreement][import]") {
  const RouterTrace own = load_trace(kData / "truth_a.safetensors");
  const RouterTrace vllm = import_trace(kData / "vllm_033.jsonl");
  const TokenAlignment t = align_tokens(own, vllm, {true, "own", "vllm"});
  CHECK(t.pairs.size() == 8);    // request A: every token but the last
  CHECK(t.unmatched_b == 4);     // request B has no partner
  TopkAgreement r = topk_agreement(own, vllm, t.pairs);
  CHECK(r.flip_rate == 0.0);
  CHECK(r.mean_jaccard == 1.0);
  CHECK(r.steps_with_flip == 0);
  CHECK(r.layer_index == std::vector<int>{1, 2, 3});
  // One expert of layer 2 at position 6 replaced by an expert outside the set: one flip of 24,
  // Jaccard 1/3 there; a second change at position 6, layer 3: still one step with a flip.
  RouterTrace changed = own;
  int32_t* ids = changed.topk_ids.data() + (1 * changed.num_positions + 6) * 2;
  const int32_t keep = ids[0];
  int32_t other = 0;
  while (other == ids[0] || other == ids[1]) ++other;
  ids[1] = other;
  r = topk_agreement(changed, vllm, t.pairs);
  CHECK(r.flip_rate == 1.0 / 24.0);  // one division of integers: exact (as above)
  CHECK(r.jaccard[1 * 8 + 6] == 1.0 / 3.0);
  CHECK(r.step_layers_flipped[6] == 1);
  CHECK(r.steps_with_flip == 1);
  CHECK(r.any_layer_flip_fraction == 1.0 / 8.0);
  CHECK(ids[0] == keep);
  int32_t* ids3 = changed.topk_ids.data() + (2 * changed.num_positions + 6) * 2;
  std::swap(ids3[0], ids3[1]);  // order only: not a flip
  r = topk_agreement(changed, vllm, t.pairs);
  CHECK(r.flip_rate == 1.0 / 24.0);
  CHECK(r.order_only == 1);
}

TEST_CASE("physical SGLang ids are compared as the logical experts they run", "[agreement][import]") {
  const RouterTrace own = load_trace(kData / "truth_a.safetensors");
  const RouterTrace sgl = import_trace(kData / "sglang_per_token.pt");
  // Pass 0 slot 0 (rows 0-4) is request A's prompt.
  RowPairs p;
  for (int64_t r = 0; r < 5; ++r) {
    p.a_rows.push_back(r);
    p.b_rows.push_back(r);
  }
  const TopkAgreement r = topk_agreement(own, sgl, p);
  CHECK(r.flip_rate == 0.0);
  RouterTrace unmapped = sgl;
  unmapped.physical_to_logical.clear();
  unmapped.num_logical_experts = 0;
  CHECK_THROWS_WITH(topk_agreement(own, unmapped, p), Catch::Contains("without a physical-to-logical map"));
}

TEST_CASE("diff of traces from two systems writes agreement and, with logits, divergence", "[agreement][diff]") {
  test::TempDir dir;
  DiffOptions o;
  o.plots = false;
  o.routing.base_name = "own";
  o.routing.var_name = "vllm";
  const DiffResult r = run_diff(dir / "out", load_trace(kData / "truth_a.safetensors"),
                                import_trace(kData / "vllm_033.jsonl"), o);
  CHECK(r.align == DiffAlign::Tokens);
  CHECK_THAT(r.divergence_skipped, Catch::Contains("id-only"));
  CHECK(r.files == std::vector<std::string>{"topk_agreement.json", "topk_agreement_layers.csv",
                                            "topk_agreement_steps.csv", "topk_jaccard.csv"});
  const auto j = nlohmann::json::parse(test::read_file(dir / "out" / "topk_agreement.json"));
  CHECK(j["alignment"] == "tokens");
  CHECK(j["flip_rate"] == 0.0);
  CHECK(j["token_check"] == "every paired row carries the same token id");
  CHECK(j["unmatched_rows_var"] == 4);
  // Megatron traces carry logits: the divergence files appear too (identical → JSD 0).
  const RouterTrace meg = import_trace(kData / "megatron" / "router_trace_rank0.jsonl");
  o.check_tokens = false;  // Megatron records no token ids
  const DiffResult m = run_diff(dir / "meg", meg, load_trace(kData / "expected_megatron.safetensors"), o);
  REQUIRE(m.divergence.has_value());
  CHECK(m.divergence->dist == DistKind::Full);
  for (double v : m.divergence->divergence) CHECK(v == 0.0);
  CHECK(std::filesystem::exists(dir / "meg" / "jsd.csv"));
  CHECK(m.agreement.flip_rate == 0.0);
  // Steps alignment refuses multi-sequence traces; tokens refuses unpaired token ids.
  o.align = DiffAlign::Steps;
  CHECK_THROWS_WITH(run_diff(dir / "x", meg, meg, o), Catch::Contains("--align tokens"));
  CHECK_FALSE(std::filesystem::exists(dir / "x"));
}
