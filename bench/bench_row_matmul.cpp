// The CPU row kernels (libmoeroute/src/torch/kernels/row_matmul.h) on one thread, as a decode
// step uses them: few activation rows against weight matrices that are not in cache (the bench
// walks 256 MiB of them, one matrix per iteration), in float32, bfloat16 and float16 storage.
// Reports the weight bytes read per second (docs/performance.md, "Native models"); compare with
// a plain read of memory (bench_native's roofline probe) for the kernel's share of the bandwidth.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "torch/kernels/row_matmul.h"

using namespace moeroute::detail;

namespace {

constexpr size_t kPoolBytes = size_t{256} << 20;

// state.range: 0 = format (0 f32, 1 bf16, 2 f16), 1 = rows M, 2 = N, 3 = K.
void BM_RowMatmul(benchmark::State& state) {
  const auto format = static_cast<WeightFormat>(state.range(0));
  const int64_t M = state.range(1), N = state.range(2), K = state.range(3);
  const size_t esize = weight_format_size(format), matrix = static_cast<size_t>(N * K) * esize;
  const size_t count = kPoolBytes / matrix;
  std::vector<uint16_t> pool(kPoolBytes / 2);
  std::mt19937 rng(1);
  // Small finite values in every format (0x3c00 ± a few: around 1 in f16, 1.x·2⁻¹²⁰ in bf16 pairs).
  for (auto& v : pool) v = static_cast<uint16_t>(0x3c00 + (rng() & 0xff));
  std::vector<float> x(static_cast<size_t>(M * K), 0.5f), y(static_cast<size_t>(M * N));
  std::vector<const float*> xr;
  std::vector<float*> yr;
  for (int64_t m = 0; m < M; ++m) {
    xr.push_back(x.data() + m * K);
    yr.push_back(y.data() + m * N);
  }
  size_t i = 0;
  for (auto _ : state) {
    const WeightView w{reinterpret_cast<const char*>(pool.data()) + (i++ % count) * matrix, format};
    row_matmul(xr.data(), M, w, K, 0, N, nullptr, yr.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(matrix));
  state.SetLabel(row_matmul_isa(format));
}

// The 212 M benchmark checkpoint's decode shapes (docs/performance.md): an expert's gate_up
// [512, 512] and down [512, 256], the stacked q/k/v [2048, 512] (hidden 512), lm_head [4096, 512];
// M = 1 (batch 1) and 2; [1024, 1024] at the one-row kernel's limit; and a Qwen3-30B-A3B expert's
// gate_up [1536, 2048].
void Shapes(benchmark::internal::Benchmark* b) {
  for (int f = 0; f < 3; ++f)
    for (int m : {1, 2})
      for (auto [n, k] : std::vector<std::pair<int, int>>{{512, 512}, {512, 256}, {2048, 512}, {4096, 512}, {1024, 1024}, {1536, 2048}})
        b->Args({f, m, n, k});
}

}  // namespace

BENCHMARK(BM_RowMatmul)->Apply(Shapes)->ArgNames({"fmt", "M", "N", "K"});
BENCHMARK_MAIN();
