// Recording on CUDA matches recording on CPU (builtin:tiny-moe, float32). Exits 77 — reported
// by ctest as skipped — when LibTorch sees no CUDA device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "fp_tolerance.h"
#include "generate_options.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"

using namespace moeroute;

namespace {

std::unique_ptr<CausalLM> tiny_on(const std::string& device) {
  ModelOptions o;
  o.device_map = DeviceMap::parse(device);
  o.dtype = ModelDtype::Float32;
  return load_model("builtin:tiny-moe", o);
}

// CUDA and CPU kernels sum in other orders: the fp32 reorder bound of tests/fp_tolerance.h
// (builtin:tiny-moe: 4 layers, hidden size 64), top-k ids equal except at ties within it.
void check_close(const RouterTrace& cpu, const RouterTrace& gpu) {
  REQUIRE(cpu.num_positions == gpu.num_positions);
  REQUIRE(cpu.num_layers() == gpu.num_layers());
  const double tol = test::fp32_reorder_tolerance(test::max_abs(cpu.router_logits),
                                                  std::max<int64_t>(64, cpu.num_positions), 4 * test::kReductionsPerLayer);
  double diff = 0;
  for (size_t i = 0; i < cpu.router_logits.size(); ++i)
    diff = std::max(diff, double(std::abs(cpu.router_logits[i] - gpu.router_logits[i])));
  CHECK(test::within("tiny-moe: CUDA vs CPU router logits", diff, tol));
  CHECK(test::topk_agree_outside_ties(gpu.topk_ids, cpu.topk_ids, cpu.router_logits, cpu.top_k, cpu.num_experts, tol));
}

}  // namespace

TEST_CASE("CUDA recording matches CPU recording", "[gpu]") {
  auto cpu = tiny_on("cpu");
  auto gpu = tiny_on("cuda");
  CHECK(gpu->info().device.rfind("cuda", 0) == 0);
  const auto prompt = cpu->tokenizer()->encode("<|im_start|>user\nWhich experts do I use?<|im_end|>\n");
  const auto cont = cpu->tokenizer()->encode("Some fixed continuation.");
  check_close(score(*cpu, prompt, cont).trace, score(*gpu, prompt, cont).trace);

  const auto g = moeroute::test::greedy(12);
  const auto a = generate(*cpu, {prompt, cont}, g);
  const auto b = generate(*gpu, {prompt, cont}, g);  // a padded batch of two, pinned async copies
  for (size_t r = 0; r < 2; ++r) {
    CHECK(a[r].generated_ids == b[r].generated_ids);
    if (a[r].generated_ids == b[r].generated_ids) check_close(a[r].trace, b[r].trace);
  }
}

int main(int argc, char** argv) {
  if (!cuda_available()) {
    std::puts("SKIPPED: LibTorch sees no CUDA device");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
