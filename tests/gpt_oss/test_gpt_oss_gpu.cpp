// Native gpt-oss on CUDA against transformers' goldens (fp32: the CPU bounds) and the CPU (bf16,
// fp16). Exits 77 — reported by ctest as skipped — when LibTorch sees no CUDA device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

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

GenerateOptions greedy(size_t n) {
  GenerateOptions g;
  g.max_new_tokens = static_cast<int>(n);
  g.model_stop_tokens = false;
  return g;
}

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
      const auto d = moeroute::test::compare_trace(score(*m, g.prompt(p), g.generated(p)).trace, g, p);
      INFO(name << " prompt " << p);
      CHECK(d.max_logit_diff <= 1e-4);
      CHECK(d.topk_mismatches == 0);
    }
    const auto out = generate(*m, prompts, greedy(n));  // one padded batch, KV cache
    for (int p = 0; p < g.prompts(); ++p) {
      INFO(name << " prompt " << p);
      CHECK(out[static_cast<size_t>(p)].generated_ids == g.generated(p));
      CHECK(moeroute::test::compare_trace(out[static_cast<size_t>(p)].trace, g, p).max_logit_diff <= 1e-4);
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
    int64_t same = 0;
    for (size_t i = 0; i < t.topk_ids.size(); i += 4) same += t.topk_ids[i] == ref.topk_ids[i];
    INFO(dtype);
    CHECK(same * 10 >= static_cast<int64_t>(t.topk_ids.size() / 4) * 9);
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
