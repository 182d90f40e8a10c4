// Recording on CUDA matches recording on CPU (builtin:tiny-moe, float32). Exits 77 — reported
// by ctest as skipped — when LibTorch sees no CUDA device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

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

void check_close(const RouterTrace& cpu, const RouterTrace& gpu) {
  REQUIRE(cpu.num_positions == gpu.num_positions);
  REQUIRE(cpu.num_layers() == gpu.num_layers());
  int64_t same = 0, total = 0;
  double diff = 0;
  for (int l = 0; l < cpu.num_layers(); ++l)
    for (int64_t p = 0; p < cpu.num_positions; ++p) {
      same += std::equal(cpu.topk_ids_at(l, p), cpu.topk_ids_at(l, p) + cpu.top_k, gpu.topk_ids_at(l, p));
      ++total;
      for (int e = 0; e < cpu.num_experts; ++e)
        diff = std::max(diff, double(std::abs(cpu.router_logits_at(l, p)[e] - gpu.router_logits_at(l, p)[e])));
    }
  CHECK(double(same) / double(total) >= 0.99);
  CHECK(diff < 1e-3);
}

}  // namespace

TEST_CASE("CUDA recording matches CPU recording", "[gpu]") {
  auto cpu = tiny_on("cpu");
  auto gpu = tiny_on("cuda");
  CHECK(gpu->info().device.rfind("cuda", 0) == 0);
  const auto prompt = cpu->tokenizer()->encode("<|im_start|>user\nWhich experts do I use?<|im_end|>\n");
  const auto cont = cpu->tokenizer()->encode("Some fixed continuation.");
  check_close(score(*cpu, prompt, cont).trace, score(*gpu, prompt, cont).trace);

  GenerateOptions g;
  g.max_new_tokens = 12;
  g.model_stop_tokens = false;
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
