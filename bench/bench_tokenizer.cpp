// Encode throughput of moeroute's tokenizer.json implementation.
//
//   bench_tokenizer --tokenizer=FILE[,FILE…] --text=FILE [--ids-out=FILE] [benchmark flags]
//
// Registers one benchmark per tokenizer ("encode/<parent dir name>") that encodes the whole text
// per iteration (the piece cache stays warm, as it does in Hugging Face tokenizers), reporting
// bytes_per_second. --ids-out writes the ids of the first tokenizer, one per line, prints the
// throughput of that first (cold-cache) encode and exits: tools/bench/bench_tokenizer.py
// compares the ids with tokenizers' ids.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "moeroute/hf_tokenizer.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string flag_value(int& argc, char** argv, const std::string& name) {
  const std::string prefix = "--" + name + "=";
  std::string value;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) value = arg.substr(prefix.size());
    else argv[out++] = argv[i];
  }
  argc = out;
  return value;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string tokenizers = flag_value(argc, argv, "tokenizer");
  const std::string text_file = flag_value(argc, argv, "text");
  const std::string ids_out = flag_value(argc, argv, "ids-out");
  if (tokenizers.empty() || text_file.empty()) {
    std::fprintf(stderr, "usage: %s --tokenizer=FILE[,FILE...] --text=FILE [--ids-out=FILE] [benchmark flags]\n",
                 argv[0]);
    return 2;
  }
  static const std::string text = read_file(text_file);
  std::vector<std::shared_ptr<moeroute::Tokenizer>> loaded;
  for (const std::string& file : split_commas(tokenizers)) loaded.push_back(moeroute::load_tokenizer(file));

  if (!ids_out.empty()) {
    // The first encode runs with an empty piece cache: report its throughput too.
    const auto start = std::chrono::steady_clock::now();
    const auto ids = loaded.front()->encode(text);
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
    std::printf("cold_mb_per_s %.3f\n", static_cast<double>(text.size()) / seconds.count() / 1e6);
    std::ofstream out(ids_out);
    for (const int64_t id : ids) out << id << '\n';
    return out ? 0 : 1;
  }
  const auto files = split_commas(tokenizers);
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    const std::string name = "encode/" + std::filesystem::path(files[i]).parent_path().parent_path().filename().string();
    benchmark::RegisterBenchmark(name.c_str(), [tok = loaded[i]](benchmark::State& state) {
      std::size_t tokens = 0;
      for (auto _ : state) {
        const auto ids = tok->encode(text);
        tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
      }
      state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
      state.counters["tokens"] = static_cast<double>(tokens);
    })->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
