// Import throughput (docs/performance.md, "Import"): a timing binary, driven by
// tools/bench/bench_import.py, which times pandas on the same file in the same run.
//
//   bench_import generate FILE MEGABYTES [SEED]   write a llama.cpp expert log of about that size
//   bench_import count FILE [REPEATS]             import it and count expert selections per layer
//                                                 (the seed's expert_frequency.py work); prints JSON
//   bench_import import FILE [REPEATS]            import only (chunks dropped)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "moeroute/import.h"

namespace {

// A GLM-4.5-like layout: MoE layers 3…48, 160 experts, top-8; requests of a 256-token prompt
// in one pass and 64 decode passes.
int generate(const std::string& path, double megabytes, unsigned seed) {
  std::mt19937 rng(seed);
  std::ofstream out(path, std::ios::binary);
  out << "layer_id,expert_ids\n";
  const uint64_t target = static_cast<uint64_t>(megabytes * 1e6);
  uint64_t bytes = 0;
  std::string buf;
  std::vector<int> experts(160);
  for (int i = 0; i < 160; ++i) experts[static_cast<size_t>(i)] = i;
  const auto pass = [&](int tokens) {
    for (int layer = 3; layer <= 48; ++layer)
      for (int t = 0; t < tokens; ++t) {
        buf += std::to_string(layer);
        buf += ',';
        for (int k = 0; k < 8; ++k) {  // 8 distinct experts: a partial Fisher–Yates shuffle
          std::swap(experts[static_cast<size_t>(k)], experts[static_cast<size_t>(k) + rng() % (160 - static_cast<unsigned>(k))]);
          if (k) buf += ' ';
          buf += std::to_string(experts[static_cast<size_t>(k)]);
        }
        buf += '\n';
      }
  };
  while (bytes < target) {
    pass(256);
    for (int s = 0; s < 64; ++s) pass(1);
    out << buf;
    bytes += buf.size();
    buf.clear();
  }
  fmt::print("{{\"file\": \"{}\", \"bytes\": {}}}\n", path, bytes);
  return 0;
}

int count(const std::string& path, int repeats, bool tally) {
  moeroute::ImportOptions o;
  o.format = moeroute::ImportFormat::LlamaCppExperts;
  o.num_experts = 160;
  const auto size = static_cast<double>(std::ifstream(path, std::ios::binary | std::ios::ate).tellg());
  double best = 1e300;
  uint64_t total = 0, checksum = 0;
  for (int r = 0; r < repeats; ++r) {
    std::vector<uint64_t> counts;
    const auto t0 = std::chrono::steady_clock::now();
    moeroute::import_stream(path, o, [&](moeroute::RouterTrace&& t) {
      if (!tally) return;
      counts.resize(static_cast<size_t>(t.num_layers()) * static_cast<size_t>(t.num_experts));
      for (int l = 0; l < t.num_layers(); ++l) {
        uint64_t* c = counts.data() + static_cast<size_t>(l) * static_cast<size_t>(t.num_experts);
        const int32_t* ids = t.topk_ids_at(l, 0);
        for (int64_t i = 0; i < t.num_positions * t.top_k; ++i) ++c[ids[i]];
      }
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total = 0;
    checksum = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      total += counts[i];
      checksum += counts[i] * (i + 1);  // layer-major (layer row, expert): compared with pandas' counts
    }
  }
  fmt::print("{{\"file\": \"{}\", \"bytes\": {}, \"best_seconds\": {:.4f}, \"mb_per_s\": {:.1f}, \"selections\": {}, "
             "\"checksum\": {}}}\n",
             path, static_cast<uint64_t>(size), best, size / best / 1e6, total, checksum);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "generate" && argc >= 4) return generate(argv[2], std::atof(argv[3]), argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 1);
  if (cmd == "count" && argc >= 3) return count(argv[2], argc > 3 ? std::atoi(argv[3]) : 3, true);
  if (cmd == "import" && argc >= 3) return count(argv[2], argc > 3 ? std::atoi(argv[3]) : 3, false);
  std::fprintf(stderr, "usage: bench_import generate FILE MEGABYTES [SEED] | count FILE [REPEATS] | import FILE [REPEATS]\n");
  return 2;
}
