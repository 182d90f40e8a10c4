// The generation loops (core, no LibTorch) against a fake CausalLM whose routing and logits are
// functions of the tokens: the position convention, batching, stop tokens, teacher forcing, the
// pair alignment, next-token scoring and the recorder contract.
#include <catch2/catch.hpp>

#include <map>

#include "fake_causal_lm.h"
#include "generate_options.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"

using namespace moeroute;

using test::FakeModel;
using test::kExperts;
using test::kVocab;

using moeroute::test::greedy;

TEST_CASE("generation routes every token; step t comes from position prompt_length - 1 + t", "[generate]") {
  FakeModel m(true);
  const auto g = generate(m, {{1, 2, 3}}, greedy(4))[0];
  CHECK(g.generated_ids == std::vector<int64_t>{4, 5, 6, 7});
  CHECK(g.stop_reason == "max_new_tokens");
  const RouterTrace& t = g.trace;
  CHECK(t.prompt_length == 3);
  CHECK(t.num_positions == 7);
  CHECK(t.token_ids == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7});
  // Position p was routed while token p was the input: the fake routes token + layer index.
  for (int64_t p = 0; p < 7; ++p) {
    CHECK(t.topk_ids_at(0, p)[0] == (t.token_ids[static_cast<size_t>(p)]) % kExperts);
    CHECK(t.topk_ids_at(1, p)[0] == (t.token_ids[static_cast<size_t>(p)] + 2) % kExperts);
  }
  CHECK(t.meta.model_id == "fake");
  CHECK(t.meta.extra.at("step_position") == "prompt_length - 1 + t");
  CHECK(m.forwards == 5);  // 4 steps + the last token's routing
}

TEST_CASE("stop tokens end a sequence and stay in it", "[generate]") {
  FakeModel m(true);
  const auto g = generate(m, {{6}}, greedy(10, true))[0];
  CHECK(g.generated_ids == std::vector<int64_t>{7, 8, 9});
  CHECK(g.stop_reason == "stop_token");
  CHECK(g.trace.num_positions == 4);
}

TEST_CASE("prompts share a batch only when the model takes padded batches", "[generate]") {
  FakeModel padded(true), plain(false);
  const auto a = generate(padded, {{1}, {2, 3}}, greedy(2));
  const auto b = generate(plain, {{1}, {2, 3}}, greedy(2));
  CHECK(padded.max_batch == 2);
  CHECK(plain.max_batch == 1);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(a[i].generated_ids == b[i].generated_ids);
    CHECK(a[i].trace.topk_ids == b[i].trace.topk_ids);
  }
}

TEST_CASE("teacher forcing routes the given continuation in one forward", "[generate]") {
  FakeModel m(true);
  const auto g = score(m, {1, 2}, {5, 5});
  CHECK(m.forwards == 1);
  CHECK(g.stop_reason == "teacher_forced");
  CHECK(g.trace.token_ids == std::vector<int64_t>{1, 2, 5, 5});
  CHECK(g.trace.prompt_length == 2);
}

TEST_CASE("the pair: free generates both, teacher-forced scores var on base's tokens", "[generate]") {
  FakeModel m(true);
  const auto free = run_pair(m, {1}, {4, 5}, PairAlignment::Free, greedy(3));
  CHECK(free.base.generated_ids == std::vector<int64_t>{2, 3, 4});
  CHECK(free.var.generated_ids == std::vector<int64_t>{6, 7, 8});
  const auto tf = run_pair(m, {1}, {4, 5}, PairAlignment::TeacherForced, greedy(3));
  CHECK(tf.var.generated_ids == tf.base.generated_ids);
  CHECK(tf.var.stop_reason == "teacher_forced");
  CHECK(tf.var.trace.meta.extra.at("alignment") == "teacher-forced");
}

TEST_CASE("the pair measures both runs by one forward each over prompt + continuation", "[generate]") {
  for (const PairAlignment align : {PairAlignment::Free, PairAlignment::TeacherForced}) {
    FakeModel m(true);
    const auto r = run_pair(m, {1, 2}, {1, 2}, align, greedy(3));
    // Generation: 3 steps + the last token's routing; then one scoring forward per run.
    CHECK(m.forwards == 4 + 2);
    CHECK(r.base.trace.meta.extra.at("routing_measured") == "one forward over prompt + continuation");
    CHECK(r.var.trace.meta.extra.at("routing_measured") == "one forward over prompt + continuation");
    CHECK(r.base.stop_reason == "max_new_tokens");  // the generation's, not "teacher_forced"
    CHECK(r.base.trace.meta.extra.at("mode") == "generate");
    CHECK(r.base.trace.meta.extra.at("max_new_tokens") == "3");
    // The step-by-step routing is kept as the second computation path.
    CHECK(r.base_decoded.token_ids == r.base.trace.token_ids);
    CHECK(r.base_decoded.meta.extra.count("routing_measured") == 0);
    // Identical prompts: identical traces.
    CHECK(r.base.trace.topk_ids == r.var.trace.topk_ids);
    CHECK(r.base.trace.token_ids == r.var.trace.token_ids);
  }
}

TEST_CASE("bad requests are refused before any forward", "[generate]") {
  FakeModel m(true);
  CHECK_THROWS_AS(generate(m, {}, greedy(2)), InputError);
  CHECK_THROWS_AS(generate(m, {{}}, greedy(2)), InputError);
  CHECK_THROWS_WITH(generate(m, {{1, 12}}, greedy(2)), Catch::Contains("outside the model's vocabulary"));
  CHECK_THROWS_AS(generate(m, {{1}}, greedy(0)), InputError);
  CHECK(m.forwards == 0);
  ForwardRequest bad;
  bad.rows = {{1, 2}};
  bad.record_last = {0};
  bad.score_last = {2};  // only one next token
  CHECK_THROWS_WITH(bad.validate(kVocab, "fake"), Catch::Contains("score_last[0] = 2"));
}

TEST_CASE("score_batch records every position and scores every next token", "[generate]") {
  FakeModel padded(true), plain(false);
  // Row 0 follows the fake's rule except at one step; row 1 is one token (nothing to score).
  const std::vector<std::vector<int64_t>> rows{{1, 2, 3, 7, 8}, {4}};
  for (FakeModel* m : {&padded, &plain}) {
    const auto s = score_batch(*m, rows);
    REQUIRE(s.size() == 2);
    CHECK(s[0].next_token_logprobs == std::vector<double>{0.0, 0.0, std::log(1e-3), 0.0});
    CHECK(s[1].next_token_logprobs.empty());
    CHECK(s[0].trace.token_ids == rows[0]);
    CHECK(s[0].trace.prompt_length == 5);  // teacher-forced input: every token is prompt
    CHECK(s[0].trace.topk_ids_at(1, 3)[0] == (7 + 2) % kExperts);
    CHECK(s[1].trace.num_positions == 1);
  }
  CHECK(padded.forwards == 1);
  CHECK(plain.forwards == 2);
  CHECK(padded.batches[0][1] == rows[1]);
}
