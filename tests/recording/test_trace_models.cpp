// `trace` on real models. The committed tiny Qwen3-MoE checkpoint against what transformers
// computes on the same samples (tests/data/trace, made by tools/golden/make_trace_golden.py):
// token ids, router logits, chosen experts and losses. The built-in demo models (tiny-moe through
// the TorchScript path, tiny-qwen3-moe natively) in padded batches against each sample run alone,
// its loss against one computed here from the model's next-token logits, prefix by prefix.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "fp_tolerance.h"
#include "moeroute/dataset.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/safetensors.h"
#include "moeroute/trace_concat.h"
#include "moeroute/trace_input.h"
#include "moeroute/trace_run.h"
#include "tensor_values.h"
#include "unit/temp_dir.h"

using namespace moeroute;
namespace fs = std::filesystem;

namespace {

const std::string kData = MOEROUTE_TEST_DATA_DIR;

// One sample's rows of a dataset trace, every array as the trace lays it out for one sequence.
std::map<int64_t, RouterTrace> samples_of(const fs::path& dir) {
  std::map<int64_t, RouterTrace> out;
  for_each_trace_chunk(dir, [&](const RouterTrace& t, const TraceChunkInfo&) {
    for (const SequenceRows& s : sequence_rows(t)) out[s.id] = select_rows(t, s.rows);
  });
  return out;
}

TraceRunOptions options(const std::string& model, const fs::path& data, const fs::path& out) {
  TraceRunOptions o;
  o.run.model = model;
  o.files = {{data, ""}};
  o.out = out;
  o.batch_size = 3;
  o.shard_size = 4;
  o.progress = TraceProgressMode::None;
  return o;
}

}  // namespace

TEST_CASE("trace of the tiny Qwen3-MoE checkpoint equals transformers on the same samples", "[trace][torch]") {
  test::TempDir tmp;
  TraceRunOptions o = options(kData + "/torchscript/hf/qwen3_moe_tiny", kData + "/trace/samples.jsonl", tmp / "run");
  o.run.chat_template = "chatml";
  o.dataset.label_field = "domain";
  const TraceRunResult r = trace_dataset(o);
  REQUIRE(r.complete);
  const SafetensorsFile ref(kData + "/trace/reference.safetensors");
  const int n = std::stoi(ref.metadata().at("num_samples"));
  const auto samples = samples_of(tmp / "run");
  REQUIRE(static_cast<int>(samples.size()) == n);
  std::vector<std::string> labels;
  for (size_t at = 0, comma = 0; comma != std::string::npos; at = comma + 1) {
    comma = ref.metadata().at("labels").find(',', at);
    labels.push_back(ref.metadata().at("labels").substr(at, comma == std::string::npos ? comma : comma - at));
  }
  for (int i = 0; i < n; ++i) {
    INFO("sample " << i);
    const std::string s = std::to_string(i);
    const RouterTrace& t = samples.at(i);
    const auto tokens = test::tensor_values<int64_t>(ref, "tokens." + s);
    const auto logprobs = test::tensor_values<double>(ref, "logprobs." + s);
    const auto router = test::tensor_values<float>(ref, "router_logits." + s);
    const auto topk64 = test::tensor_values<int64_t>(ref, "topk_ids." + s);
    const double logit_scale = test::tensor_values<float>(ref, "logit_scale." + s)[0];
    REQUIRE(t.token_ids == tokens);  // our tokenizer and chatml rendering against `tokenizers`
    REQUIRE(t.num_layers() == 3);    // MoE layers 0, 2, 3 (layer 1 is dense)
    CHECK(t.sequences.at(0).label == labels[static_cast<size_t>(i)]);
    CHECK(t.sequences.at(0).num_tokens == static_cast<int64_t>(tokens.size()));
    // Longest reduction: attention over the sample's T keys, else the dense MLP's 96; 4 layers of
    // chained reductions (tests/fp_tolerance.h). Padded batches only reorder sums.
    const auto T = static_cast<int64_t>(tokens.size());
    const int64_t longest = std::max<int64_t>(96, T);
    const int chained = 4 * test::kReductionsPerLayer;
    const double tol = test::fp32_reorder_tolerance(test::max_abs(router), longest, chained);
    CHECK(test::within("trace vs transformers: router logits", test::max_abs_diff(t.router_logits, router), tol));
    const std::vector<int32_t> want(topk64.begin(), topk64.end());
    CHECK(test::topk_agree_outside_ties(t.topk_ids, want, router, t.top_k, t.num_experts, tol));
    // ln p of a next token moves by at most twice the largest logit error; the logits add the
    // head's reduction over the hidden size to the chain.
    if (T == 1) {
      CHECK(std::isnan(t.sequences.at(0).loss));
      continue;
    }
    double sum = 0;
    for (double lp : logprobs) sum += lp;
    const double loss_tol = 2 * test::fp32_reorder_tolerance(logit_scale, longest, chained + 1);
    CHECK(std::fabs(t.sequences.at(0).loss - (-sum / static_cast<double>(T - 1))) <= loss_tol);
  }
}

TEST_CASE("trace of the built-in models: padded batches equal each sample alone; losses from the logits",
          "[trace][torch]") {
  for (const char* model : {"builtin:tiny-moe", "builtin:tiny-qwen3-moe"}) {
    INFO(model);
    test::TempDir tmp;
    const fs::path data = fs::path(MOEROUTE_TEST_DATA_DIR).parent_path().parent_path() / "examples/datasets/prose.txt";
    TraceRunOptions o = options(model, data, tmp / "run");
    const TraceRunResult r = trace_dataset(o);
    REQUIRE(r.samples == 6);
    const auto samples = samples_of(tmp / "run");
    auto m = load_model(model);
    for (const auto& [id, t] : samples) {
      INFO("sample " << id);
      const Generation alone = score(*m, t.token_ids, {});
      const int64_t T = t.num_positions;
      const double tol = test::fp32_reorder_tolerance(test::max_abs(alone.trace.router_logits),
                                                      std::max<int64_t>(64, T), 4 * test::kReductionsPerLayer);
      REQUIRE(alone.trace.router_logits.size() == t.router_logits.size());
      CHECK(test::within("trace batch vs a row alone: router logits",
                         test::max_abs_diff(t.router_logits, alone.trace.router_logits), tol));
      CHECK(test::topk_agree_outside_ties(t.topk_ids, alone.trace.topk_ids, alone.trace.router_logits, t.top_k,
                                          t.num_experts, tol));
      if (id > 1) continue;  // the loss check runs a forward per prefix: two samples suffice
      // ln p(x_{p+1} | x_0..x_p) from the next-token logits of the prefix, in double here.
      double sum = 0, scale = 0;
      for (int64_t p = 0; p + 1 < T; ++p) {
        ForwardRequest req;
        req.rows = {std::vector<int64_t>(t.token_ids.begin(), t.token_ids.begin() + p + 1)};
        req.record_last = {0};
        const std::vector<float> z = m->forward(req, nullptr).logits[0];
        double mx = -INFINITY;
        for (float v : z) mx = std::max(mx, double(v)), scale = std::max(scale, std::fabs(double(v)));
        double se = 0;
        for (float v : z) se += std::exp(double(v) - mx);
        sum += double(z[static_cast<size_t>(t.token_ids[static_cast<size_t>(p + 1)])]) - mx - std::log(se);
      }
      const double loss_tol = 2 * test::fp32_reorder_tolerance(scale, std::max<int64_t>(64, T), 4 * test::kReductionsPerLayer + 1);
      CHECK(std::fabs(t.sequences.at(0).loss + sum / static_cast<double>(T - 1)) <= loss_tol);
    }
  }
}
