// Routing statistics throughput (docs/performance.md, "Routing statistics"). On the dataset
// trace named by MOEROUTE_BENCH_STATS (written by bench/stats_numpy.py):
//   BM_StatsRun/verify:1|0 — what `moeroute stats DIR` does: read and check every shard (with or
//                            without hashing it), accumulate, build the report;
//   BM_StatsAccumulate     — the same on shards already in memory (compute only).
// Without the variable the benchmarks use a synthetic in-memory trace and BM_StatsRun is skipped.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>

#include "moeroute/stats.h"
#include "moeroute/stats_run.h"
#include "moeroute/trace_input.h"

using namespace moeroute;

namespace {

const char* bench_dir() { return std::getenv("MOEROUTE_BENCH_STATS"); }

std::vector<RouterTrace> load_chunks() {
  std::vector<RouterTrace> chunks;
  if (bench_dir()) {
    for_each_trace_chunk(bench_dir(), [&](const RouterTrace& t, const TraceChunkInfo&) { chunks.push_back(t); });
    return chunks;
  }
  // 8 layers × 64 experts, top-4, 4 sequences of 256 tokens.
  RouterTrace t;
  for (int l = 0; l < 8; ++l) t.layers.push_back({"layers." + std::to_string(l), l});
  t.num_experts = 64;
  t.top_k = 4;
  t.num_positions = 1024;
  t.allocate(true, true);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 2);
  for (auto& x : t.router_logits) x = nd(rng);
  for (size_t i = 0; i < t.topk_ids.size(); ++i) t.topk_ids[i] = static_cast<int32_t>((i * 7 + i / 4) % 64);
  for (auto& w : t.gate_weights) w = 0.25f;
  chunks.push_back(t);
  return chunks;
}

void BM_StatsRun(benchmark::State& state) {
  if (!bench_dir()) {
    state.SkipWithError("set MOEROUTE_BENCH_STATS to a dataset trace");
    return;
  }
  StatsRunOptions o;
  o.input.verify_checksums = state.range(0) != 0;
  int64_t tokens = 0;
  for (auto _ : state) tokens = run_stats({bench_dir()}, o).report.tokens;
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_StatsRun)->ArgName("verify")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_StatsAccumulate(benchmark::State& state) {
  const std::vector<RouterTrace> chunks = load_chunks();
  int64_t tokens = 0;
  for (auto _ : state) {
    RoutingStats s;
    for (const RouterTrace& c : chunks) s.add(c, "bench");
    tokens = s.report().tokens;
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_StatsAccumulate)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
