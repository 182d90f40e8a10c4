// Micro benchmarks of the diff maths at realistic sizes (48 layers × 128 experts × 4096 steps,
// the shape of a long Qwen3-30B-A3B generation). With MOEROUTE_BENCH_TRACES=base,var set, the
// BM_DiffTraceFiles benchmark runs on those trace files instead (bench/compare_numpy.py uses it
// to time moeroute and NumPy on the same data).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>

#include "moeroute/routing_diff.h"
#include "moeroute/trace_io.h"

using namespace moeroute;

namespace {

RouterTrace make_trace(int layers, int experts, int top_k, int64_t steps, unsigned seed) {
  RouterTrace t;
  for (int l = 0; l < layers; ++l) t.layers.push_back({"model.layers." + std::to_string(l) + ".mlp.gate", l});
  t.num_experts = experts;
  t.top_k = top_k;
  t.num_positions = steps + 1;
  t.prompt_length = 1;
  t.allocate(true, true);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  for (auto& x : t.router_logits) x = nd(rng);
  std::uniform_int_distribution<int> expert(0, experts - 1);
  for (auto& id : t.topk_ids) id = expert(rng);
  for (auto& w : t.gate_weights) w = 0.25f;
  return t;
}

const RouterTrace& base_trace() {
  static const RouterTrace t = make_trace(48, 128, 8, 4096, 1);
  return t;
}
const RouterTrace& var_trace() {
  static const RouterTrace t = make_trace(48, 128, 8, 4096, 2);
  return t;
}

void run_diff(benchmark::State& state, const RouterTrace& b, const RouterTrace& v, DistKind dist,
              Divergence metric) {
  RoutingDiffOptions o;
  o.dist = dist;
  o.metric = metric;
  o.threads = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(diff_routing(b, v, o));
  const double cells = static_cast<double>(b.num_layers()) * static_cast<double>(b.num_positions - 1) *
                       static_cast<double>(b.num_experts);
  state.counters["expert_cells/s"] = benchmark::Counter(cells, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_DiffFullJsd(benchmark::State& s) { run_diff(s, base_trace(), var_trace(), DistKind::Full, Divergence::JSD); }
void BM_DiffFullHellinger(benchmark::State& s) {
  run_diff(s, base_trace(), var_trace(), DistKind::Full, Divergence::Hellinger);
}
void BM_DiffTopkJsd(benchmark::State& s) { run_diff(s, base_trace(), var_trace(), DistKind::TopK, Divergence::JSD); }

void BM_TopExpertShifts(benchmark::State& state) {
  RoutingDiffOptions o;
  const RoutingDiff d = diff_routing(base_trace(), var_trace(), o);
  for (auto _ : state) benchmark::DoNotOptimize(top_expert_shifts(d, 10));
}

}  // namespace

BENCHMARK(BM_DiffFullJsd)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffFullHellinger)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffTopkJsd)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TopExpertShifts)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  if (const char* files = std::getenv("MOEROUTE_BENCH_TRACES")) {
    const std::string s(files);
    const auto comma = s.find(',');
    static const RouterTrace b = load_trace(s.substr(0, comma));
    static const RouterTrace v = load_trace(s.substr(comma + 1));
    benchmark::RegisterBenchmark("BM_DiffTraceFiles", [](benchmark::State& st) {
      run_diff(st, b, v, DistKind::Full, Divergence::JSD);
    })->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
