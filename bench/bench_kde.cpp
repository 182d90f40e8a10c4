// Micro benchmarks of the KDE evaluators (docs/performance.md, "KDE p-values"): fitting 10⁶
// logit-like values, the fast methods' set-up and per-query cost, and the exact sum's per-query
// cost (O(n): what SciPy's gaussian_kde pays for every query). Side-by-side ratios against SciPy
// on the same data: tools/bench/bench_kde_scipy.py.
#include <benchmark/benchmark.h>

#include <random>

#include "moeroute/kde.h"

using namespace moeroute;

namespace {

constexpr size_t kN = 1000000;

const std::vector<float>& sample() {
  static const std::vector<float> v = [] {
    std::mt19937 rng(1);
    std::normal_distribution<float> a(-1.5f, 1.2f), b(2.5f, 0.8f);
    std::vector<float> out(kN);
    for (size_t i = 0; i < kN; ++i) out[i] = i % 9 == 0 ? b(rng) : a(rng);
    return out;
  }();
  return v;
}

const KernelDensity& fitted(KdeKernel kernel) {
  static const KernelDensity g = KernelDensity::fit(sample(), KdeKernel::Gaussian, {}, "bench");
  static const KernelDensity e = g.refit(KdeKernel::Epanechnikov, {});
  return kernel == KdeKernel::Gaussian ? g : e;
}

KdeEvalOptions fast() {
  KdeEvalOptions o;
  o.method = KdeMethod::Fast;
  return o;
}

void BM_Fit(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(KernelDensity::fit(sample(), KdeKernel::Gaussian, {}, "bench"));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
}
BENCHMARK(BM_Fit)->Unit(benchmark::kMillisecond);

void BM_FastSetup(benchmark::State& state) {
  const auto kernel = static_cast<KdeKernel>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(KdeEvaluator(fitted(kernel), fast(), 0));
}
BENCHMARK(BM_FastSetup)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_FastUpperTail(benchmark::State& state) {
  const auto kernel = static_cast<KdeKernel>(state.range(0));
  const KdeEvaluator eval(fitted(kernel), fast(), 0);
  std::vector<float> out(kN);
  for (auto _ : state) eval.upper_tail(sample().data(), kN, out.data());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
}
BENCHMARK(BM_FastUpperTail)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_ExactUpperTail(benchmark::State& state) {
  const KernelDensity& kde = fitted(KdeKernel::Gaussian);
  double x = -1;
  for (auto _ : state) benchmark::DoNotOptimize(kde_upper_tail_exact(kde, x += 1e-6));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ExactUpperTail)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
