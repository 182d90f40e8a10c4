// Native decode on CUDA replayed from CUDA graphs (families/static_decode.h) against the same
// model run op by op (cuda_graphs off): the same greedy tokens of a padded batch and the same
// routing within the float32 reorder bound (tests/fp_tolerance.h), with the steps counted so
// the graphs cannot have been skipped; and a build without CUDA graphs says so. Exits 77 —
// reported by ctest as skipped — when LibTorch sees no CUDA device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "fp_tolerance.h"
#include "generate_options.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"
#include "torch/families/static_decode.h"
#include "torch/layers/cuda_graph.h"

using namespace moeroute;

namespace {

std::unique_ptr<CausalLM> on_cuda(const std::string& model, bool graphs, const std::string& dtype = "float32") {
  ModelOptions o;
  o.device_map = DeviceMap::parse("cuda");
  o.dtype = parse_model_dtype(dtype);
  o.cuda_graphs = graphs;
  return load_model(model, o);
}

using moeroute::test::greedy;

}  // namespace

TEST_CASE("this build captures CUDA graphs", "[gpu]") { CHECK(moeroute::detail::CapturedStep::supported()); }

TEST_CASE("decode from CUDA graphs equals decode op by op", "[gpu]") {
  const std::vector<std::vector<int64_t>> prompts{{11, 12, 13, 14, 15}, std::vector<int64_t>(17, 21)};
  const int n = 70;  // past the cache's first capacity of 64 keys: one recapture
  for (const std::string id : {"builtin:tiny-qwen3-moe", "builtin:tiny-gpt-oss"}) {
    INFO(id);
    auto plain = on_cuda(id, false);
    auto graphed = on_cuda(id, true);
    const auto want = generate(*plain, prompts, greedy(n));
    const auto before = moeroute::detail::static_decode_counts();
    const auto got = generate(*graphed, prompts, greedy(n));
    const auto after = moeroute::detail::static_decode_counts();
    CHECK(after.captured - before.captured >= 1);
    CHECK(after.replayed - before.replayed >= n - 8);  // warm-ups and captures at 64 and 128 keys
    for (size_t p = 0; p < prompts.size(); ++p) {
      INFO("prompt " << p);
      CHECK(got[p].generated_ids == want[p].generated_ids);
      CHECK(got[p].trace.topk_ids == want[p].trace.topk_ids);
      const auto layers = static_cast<int>(want[p].trace.layers.size());
      // Summation order only (attention over the cache's capacity, the experts as gather).
      const double tol = test::fp32_reorder_tolerance(test::max_abs(want[p].trace.router_logits), 128,
                                                      layers * test::kReductionsPerLayer);
      CHECK(test::within("CUDA graphs: router logits",
                         test::max_abs_diff(got[p].trace.router_logits, want[p].trace.router_logits), tol));
    }
    // Recording top-k only: the staging the graph copies into holds ids and weights alone.
    RecorderOptions topk;
    topk.keep_logits = false;
    const auto ids = generate(*graphed, prompts, greedy(8), topk);
    CHECK(ids[0].generated_ids == std::vector<int64_t>(want[0].generated_ids.begin(), want[0].generated_ids.begin() + 8));
    CHECK(ids[0].trace.router_logits.empty());
    CHECK(ids[0].trace.topk_ids.size() == ids[0].trace.layers.size() * size_t(ids[0].trace.num_positions) *
                                              size_t(ids[0].trace.top_k));
  }
}

int main(int argc, char** argv) {
  if (!cuda_available()) {
    std::puts("no CUDA device: skipped");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
