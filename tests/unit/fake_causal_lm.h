// A fake CausalLM for core-only tests of the jobs that run models (generation loops, `trace`):
// its routing and logits are functions of the tokens, so every expectation can be computed by hand.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "moeroute/causal_lm.h"

namespace moeroute::test {

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
  explicit FakeModel(bool padded, int64_t vocab = kVocab, std::shared_ptr<const Tokenizer> tokenizer = nullptr)
      : vocab_(vocab), tokenizer_(std::move(tokenizer)) {
    info_.model_id = "fake";
    info_.source = "test";
    info_.num_experts = kExperts;
    info_.routing = qwen_moe_rule(2, true);
    info_.vocab_size = vocab;
    info_.stop_token_ids = {9};
    info_.padded_batches = padded;
    info_.moe_layers = {{"layers.0.gate", 0}, {"layers.2.gate", 2}};
  }
  ModelInfo& mutable_info() { return info_; }
  const ModelInfo& info() const override { return info_; }
  const Tokenizer* tokenizer() const override { return tokenizer_.get(); }
  std::unique_ptr<RoutingRecorder> make_recorder(const RecorderOptions&, int rows) const override {
    return std::make_unique<FakeRecorder>(rows);
  }
  ForwardResult forward(const ForwardRequest& request, RoutingRecorder* recorder) override {
    request.validate(vocab_, "fake");
    ++forwards;
    max_batch = std::max(max_batch, request.rows.size());
    batches.push_back(request.rows);
    ForwardResult out;
    out.logits.resize(request.rows.size());
    for (size_t b = 0; b < request.rows.size(); ++b) {
      const auto& row = request.rows[b];
      if (recorder) {
        auto& seen = static_cast<FakeRecorder*>(recorder)->tokens[b];
        seen.insert(seen.end(), row.end() - request.record_last[b], row.end());
      }
      if (request.want_logits) {
        out.logits[b].assign(static_cast<size_t>(vocab_), 0.0f);
        out.logits[b][static_cast<size_t>((row.back() + 1) % vocab_)] = 10.0f;
      }
    }
    if (!request.score_last.empty()) {
      out.next_token_logprobs.resize(request.rows.size());
      for (size_t b = 0; b < request.rows.size(); ++b) {
        const auto& row = request.rows[b];
        for (int64_t p = static_cast<int64_t>(row.size()) - 1 - request.score_last[b]; p + 1 < static_cast<int64_t>(row.size()); ++p)
          out.next_token_logprobs[b].push_back(
              row[static_cast<size_t>(p + 1)] == (row[static_cast<size_t>(p)] + 1) % vocab_ ? 0.0 : std::log(1e-3));
      }
    }
    return out;
  }
  int forwards = 0;
  size_t max_batch = 0;
  std::vector<std::vector<std::vector<int64_t>>> batches;  ///< the rows of every forward, in order

 private:
  int64_t vocab_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  ModelInfo info_;
};

}  // namespace moeroute::test
