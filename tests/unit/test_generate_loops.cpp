// The generation loops (core, no LibTorch) against a fake CausalLM whose routing and logits are
// functions of the tokens: the position convention, batching, stop tokens, teacher forcing, the
// pair alignment, next-token scoring and the recorder contract.
#include <catch2/catch.hpp>

#include <map>

#include "moeroute/error.h"
#include "moeroute/generate.h"

using namespace moeroute;

namespace {

constexpr int kExperts = 6;
constexpr int64_t kVocab = 10;

// Routing of the token at a position: expert (token + layer) % E first, then the next one.
struct FakeRecorder final : RoutingRecorder {
  std::vector<LayerInfo> gates{{"layers.0.gate", 0}, {"layers.2.gate", 2}};
  RoutingRule r = qwen_moe_rule(2, true);
  std::vector<std::vector<int64_t>> tokens;  // per row: tokens routed so far
  explicit FakeRecorder(int rows) : tokens(static_cast<size_t>(rows)) {}
  RouterTrace trace(int row) override {
    RouterTrace t;
    t.layers = gates;
    t.num_experts = kExperts;
    t.top_k = 2;
    t.num_positions = static_cast<int64_t>(tokens[static_cast<size_t>(row)].size());
    t.allocate(true, false);
    for (int l = 0; l < 2; ++l)
      for (int64_t p = 0; p < t.num_positions; ++p) {
        const auto tok = tokens[static_cast<size_t>(row)][static_cast<size_t>(p)];
        const size_t i = (static_cast<size_t>(l) * static_cast<size_t>(t.num_positions) + static_cast<size_t>(p)) * 2;
        t.topk_ids[i] = static_cast<int32_t>((tok + gates[static_cast<size_t>(l)].index) % kExperts);
        t.topk_ids[i + 1] = static_cast<int32_t>((tok + gates[static_cast<size_t>(l)].index + 1) % kExperts);
        t.gate_weights[i] = 0.75f;
        t.gate_weights[i + 1] = 0.25f;
      }
    return t;
  }
  const std::vector<LayerInfo>& layers() const override { return gates; }
  const RoutingRule& rule() const override { return r; }
};

// Next token = (last token + 1) % vocab, as a one-hot logit; log p(next) = 0 when the text follows
// that rule, log(1e-3) otherwise.
class FakeModel final : public CausalLM {
 public:
  explicit FakeModel(bool padded) {
    info_.model_id = "fake";
    info_.source = "test";
    info_.num_experts = kExperts;
    info_.routing = qwen_moe_rule(2, true);
    info_.vocab_size = kVocab;
    info_.stop_token_ids = {9};
    info_.padded_batches = padded;
    info_.moe_layers = {{"layers.0.gate", 0}, {"layers.2.gate", 2}};
  }
  const ModelInfo& info() const override { return info_; }
  const Tokenizer* tokenizer() const override { return nullptr; }
  std::unique_ptr<RoutingRecorder> make_recorder(const RecorderOptions&, int rows) const override {
    return std::make_unique<FakeRecorder>(rows);
  }
  ForwardResult forward(const ForwardRequest& request, RoutingRecorder* recorder) override {
    request.validate(kVocab, "fake");
    ++forwards;
    max_batch = std::max(max_batch, request.rows.size());
    ForwardResult out;
    out.logits.resize(request.rows.size());
    for (size_t b = 0; b < request.rows.size(); ++b) {
      const auto& row = request.rows[b];
      if (recorder) {
        auto& seen = static_cast<FakeRecorder*>(recorder)->tokens[b];
        seen.insert(seen.end(), row.end() - request.record_last[b], row.end());
      }
      if (request.want_logits) {
        out.logits[b].assign(kVocab, 0.0f);
        out.logits[b][static_cast<size_t>((row.back() + 1) % kVocab)] = 10.0f;
      }
    }
    if (!request.score_last.empty()) {
      out.next_token_logprobs.resize(request.rows.size());
      for (size_t b = 0; b < request.rows.size(); ++b) {
        const auto& row = request.rows[b];
        for (int64_t p = static_cast<int64_t>(row.size()) - 1 - request.score_last[b]; p + 1 < static_cast<int64_t>(row.size()); ++p)
          out.next_token_logprobs[b].push_back(row[static_cast<size_t>(p + 1)] == (row[static_cast<size_t>(p)] + 1) % kVocab ? 0.0 : std::log(1e-3));
      }
    }
    return out;
  }
  int forwards = 0;
  size_t max_batch = 0;

 private:
  ModelInfo info_;
};

GenerateOptions greedy(int n, bool stop = false) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.model_stop_tokens = stop;
  return o;
}

}  // namespace

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
