// Native gpt-oss on CUDA against transformers' goldens (fp32: the CPU bounds) and the CPU (bf16,
// fp16). Exits 77 — reported by ctest as skipped — when LibTorch sees no CUDA device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "generate_options.h"
#include "golden_util.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"

using namespace moeroute;
using moeroute::test::Golden;

namespace {

std::unique_ptr<CausalLM> on_cuda(const std::string& model, const std::string& dtype) {
  ModelOptions o;
  o.device_map = DeviceMap::parse("cuda");
  o.dtype = parse_model_dtype(dtype);
  return load_model(model, o);
}

using moeroute::test::greedy;

}  // namespace

TEST_CASE("gpt-oss on CUDA, float32: the goldens within the CPU bounds", "[gpu]") {
  for (const std::string name : {"mxfp4", "dequant"}) {
    const Golden g(name);
    auto m = on_cuda(moeroute::test::gpt_oss_golden_dir() + "/" + name, "float32");
    CHECK(m->info().device.rfind("cuda", 0) == 0);
    std::vector<std::vector<int64_t>> prompts;
    size_t n = 0;
    for (int p = 0; p < g.prompts(); ++p) {
      prompts.push_back(g.prompt(p));
      n = std::max(n, g.generated(p).size());
      const double tol = moeroute::test::golden_router_tolerance(g, p);
      const auto d = moeroute::test::compare_trace(score(*m, g.prompt(p), g.generated(p)).trace, g, p, tol);
      INFO(name << " prompt " << p);
      CHECK(moeroute::test::within("gpt-oss CUDA fp32: router logits", d.max_logit_diff, tol));
      CHECK(d.topk_mismatches == 0);
    }
    const auto out = generate(*m, prompts, greedy(n));  // one padded batch, KV cache
    for (int p = 0; p < g.prompts(); ++p) {
      INFO(name << " prompt " << p);
      CHECK(out[static_cast<size_t>(p)].generated_ids == g.generated(p));
      const double tol = moeroute::test::golden_router_tolerance(g, p);
      CHECK(moeroute::test::within("gpt-oss CUDA fp32: generated router logits",
                                   moeroute::test::compare_trace(out[static_cast<size_t>(p)].trace, g, p, tol).max_logit_diff,
                                   tol));
    }
  }
}

TEST_CASE("gpt-oss on CUDA, bfloat16 and float16: close to the CPU in float32", "[gpu]") {
  auto cpu = load_model("builtin:tiny-gpt-oss");
  const auto prompt = cpu->tokenizer()->encode("<|start|>user<|message|>Which experts do I use?<|end|><|start|>assistant");
  const auto ref = score(*cpu, prompt, {}).trace;
  for (const std::string dtype : {"bfloat16", "float16"}) {
    auto m = on_cuda("builtin:tiny-gpt-oss", dtype);
    const auto t = score(*m, prompt, {}).trace;
    INFO(dtype);
    // Every op's output rounded to bf16/f16 (tests/fp_tolerance.h, 4 layers); a choice may flip
    // only at a tie within twice that, and rows downstream of a flip follow another expert.
    const double tol = moeroute::test::low_precision_tolerance(moeroute::test::max_abs(ref.router_logits),
                                                               4 * moeroute::test::kReductionsPerLayer,
                                                               dtype == "bfloat16" ? 8 : 11);
    std::vector<std::pair<int, int64_t>> flips;
    double worst = 0;
    for (int l = 0; l < t.num_layers(); ++l)
      for (int64_t pos = 0; pos < t.num_positions; ++pos) {
        const float* a = t.router_logits_at(l, pos);
        const float* b = ref.router_logits_at(l, pos);
        const int32_t* ia = t.topk_ids_at(l, pos);
        const int32_t* ib = ref.topk_ids_at(l, pos);
        const bool downstream = moeroute::test::downstream_of(flips, l, pos);
        for (int k = 0; k < t.top_k; ++k)
          if (ia[k] != ib[k]) {
            if (!downstream) CHECK(std::fabs(double(b[ia[k]]) - b[ib[k]]) <= 2 * tol);
            flips.push_back({l, pos});
          }
        if (downstream) continue;
        for (int e = 0; e < t.num_experts; ++e) worst = std::max(worst, std::fabs(double(a[e]) - b[e]));
      }
    CHECK(moeroute::test::within("tiny-gpt-oss CUDA " + dtype + " vs CPU fp32: router logits", worst, tol));
    const auto gen = generate(*m, {prompt, prompt}, greedy(16));
    CHECK(gen[0].generated_ids == gen[1].generated_ids);
  }
}

int main(int argc, char** argv) {
  if (!cuda_available()) {
    std::puts("SKIPPED: LibTorch sees no CUDA device");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
