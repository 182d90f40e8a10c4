// `moeroute trace` speed: tokens/s of teacher-forced scoring in the trace job's batches, against
// the same forwards without recording. Modes, interleaved and repeated so machine noise hits all
// alike: plain forward (next tokens scored, no recorder), score_batch recording top-k, recording
// logits, and the whole trace job (tokenizing, shard writing with read-back verification) with
// --no-logits and with logits. Usage:
//   bench_trace [--model builtin:tiny-qwen3-moe|CHECKPOINT_DIR] [--samples 64] [--words 24]
//               [--batch 8] [--shard-size 64] [--repeats 5] [--threads 0]
// Prints medians (docs/performance.md, "Dataset tracing").
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"
#include "moeroute/trace_run.h"

using namespace moeroute;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Lines of `words` pseudo-random English-like words (deterministic).
std::vector<std::string> sample_lines(int samples, int words) {
  static const char* kWords[] = {"router", "expert", "token", "layer", "the", "of", "and", "model", "gate", "weight",
                                 "mixture", "sparse", "dense", "attention", "value", "query", "key", "softmax",
                                 "choose", "balance", "load", "capacity", "shard", "batch"};
  std::mt19937 rng(42);
  std::vector<std::string> out;
  for (int s = 0; s < samples; ++s) {
    std::string line;
    for (int w = 0; w < words; ++w) line += (w ? " " : "") + std::string(kWords[rng() % 24]);
    out.push_back(line + ".");
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "builtin:tiny-qwen3-moe";
  int samples = 64, words = 24, batch = 8, repeats = 5, threads = 0;
  int64_t shard_size = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model_name = v;
    else if (k == "--samples") samples = std::atoi(v.c_str());
    else if (k == "--words") words = std::atoi(v.c_str());
    else if (k == "--batch") batch = std::atoi(v.c_str());
    else if (k == "--shard-size") shard_size = std::atoll(v.c_str());
    else if (k == "--repeats") repeats = std::atoi(v.c_str());
    else if (k == "--threads") threads = std::atoi(v.c_str());
    else {
      fmt::print(stderr, "unknown option {}\n", k);
      return 2;
    }
  }
  if (samples < 1 || words < 1 || batch < 1 || repeats < 1 || shard_size < 1) {
    fmt::print(stderr, "need positive --samples, --words, --batch, --shard-size, --repeats\n");
    return 2;
  }
  try {
    ModelOptions mo;
    mo.threads = threads;
    auto model = load_model(model_name, mo);
    const auto lines = sample_lines(samples, words);
    if (shard_size < samples) throw InputError("--shard-size below --samples: the scoring modes batch one shard");
    const fs::path dir = fs::temp_directory_path() / fmt::format("moeroute-bench-trace-{}", std::random_device{}());
    fs::create_directories(dir);
    {
      std::ofstream f(dir / "data.txt");
      for (const auto& l : lines) f << l << "\n";
    }
    std::vector<std::vector<int64_t>> rows;
    int64_t tokens = 0;
    for (const auto& l : lines) {
      rows.push_back(model->tokenizer()->encode(l));
      tokens += static_cast<int64_t>(rows.back().size());
    }
    // The trace job's batches: one shard's samples, longest first (the same padding in every mode).
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    auto batches = [&](const std::function<void(const std::vector<std::vector<int64_t>>&)>& f) {
      for (size_t s = 0; s < rows.size(); s += static_cast<size_t>(batch))
        f({rows.begin() + static_cast<std::ptrdiff_t>(s),
           rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), s + static_cast<size_t>(batch)))});
    };
    RecorderOptions topk, logits;
    topk.keep_logits = false;
    int run_no = 0;
    auto trace_job = [&](bool keep_logits) {
      TraceRunOptions o;
      o.run.model = model_name;
      o.run.recording.keep_logits = keep_logits;
      o.files = {{dir / "data.txt", "bench"}};
      o.out = dir / fmt::format("run{}", run_no++);
      o.batch_size = batch;
      o.shard_size = shard_size;
      o.progress = TraceProgressMode::None;
      trace_dataset(*model, o);
      fs::remove_all(o.out);
    };
    struct Mode {
      const char* name;
      std::function<void()> run;
    };
    const std::vector<Mode> modes = {
        {"plain forward (scored)",
         [&] {
           batches([&](const auto& b) {
             ForwardRequest req;
             req.rows = b;
             req.want_logits = false;
             for (const auto& r : b) {
               req.record_last.push_back(static_cast<int64_t>(r.size()));
               req.score_last.push_back(static_cast<int64_t>(r.size()) - 1);
             }
             model->forward(req, nullptr);
           });
         }},
        {"score_batch, top-k", [&] { batches([&](const auto& b) { score_batch(*model, b, topk); }); }},
        {"score_batch, logits", [&] { batches([&](const auto& b) { score_batch(*model, b, logits); }); }},
        {"trace job, --no-logits", [&] { trace_job(false); }},
        {"trace job, logits f32", [&] { trace_job(true); }},
    };
    std::vector<std::vector<double>> tps(modes.size());
    for (const auto& m : modes) m.run();  // warm-up
    for (int r = 0; r < repeats; ++r)
      for (size_t j = 0; j < modes.size(); ++j) {
        const size_t k = (j + static_cast<size_t>(r)) % modes.size();  // rotate the order
        const auto t0 = Clock::now();
        modes[k].run();
        tps[k].push_back(static_cast<double>(tokens) / std::chrono::duration<double>(Clock::now() - t0).count());
      }
    fs::remove_all(dir);
    const auto& info = model->info();
    fmt::print("model {} on {} ({}), {} MoE layers × {} experts, top-{}, vocab {}; {}\n", info.model_id, info.device,
               info.dtype, info.moe_layers.size(), info.num_experts, info.routing.top_k, info.vocab_size,
               torch_build_info());
    fmt::print("{} samples, {} tokens ({:.1f} per sample), batch {}, shard size {}, median of {} runs\n", samples,
               tokens, static_cast<double>(tokens) / samples, batch, shard_size, repeats);
    const double base = median(tps[0]);
    for (size_t j = 0; j < modes.size(); ++j) {
      const double t = median(tps[j]);
      fmt::print("  {:<24} {:10.1f} tokens/s  ({:5.1f} % of plain forward)\n", modes[j].name, t, 100.0 * t / base);
    }
  } catch (const Error& e) {
    fmt::print(stderr, "bench_trace: {}\n", e.what());
    return 2;
  }
  return 0;
}
