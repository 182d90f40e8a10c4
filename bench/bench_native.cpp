// Native model speed (docs/performance.md, "Native models"): prefill tokens/s and KV-cached
// decode tokens/s at a given batch, with and without the recorder (full F32 logits kept),
// modes interleaved and repeated so machine noise hits all alike. Usage:
//   bench_native [--model builtin:tiny-gpt-oss|CHECKPOINT_DIR] [--device cpu|cuda] [--dtype auto|…]
//                [--batch 1] [--prompt-tokens 64] [--new-tokens 32] [--repeats 7]
// Prints medians, the recorder overhead and the peak resident host memory.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/model.h"
#include "moeroute/torch_info.h"

using namespace moeroute;

namespace {

using Clock = std::chrono::steady_clock;

struct Timing {
  double prefill_tps = 0;  // prompt tokens (all rows) per second
  double decode_tps = 0;   // generated tokens (all rows) per second
};

// A fresh prefill of `rows` (the cache cannot be reused: the first row changes every run), then
// `n` greedy decode steps, each one forward over one new token per row.
Timing run(CausalLM& model, std::vector<std::vector<int64_t>> rows, int n, bool record, int salt) {
  const auto& info = model.info();
  std::optional<Recorder> rec;
  if (record) rec.emplace(info.moe_layers, info.num_experts, info.routing, RecorderOptions{}, static_cast<int>(rows.size()));
  rows[0][0] = 32 + salt % 90;
  ForwardRequest req{rows, std::vector<int64_t>(rows.size(), static_cast<int64_t>(rows[0].size())), true};
  const auto t0 = Clock::now();
  auto logits = model.forward(req, rec ? &*rec : nullptr);
  const auto t1 = Clock::now();
  for (int i = 0; i < n; ++i) {
    for (size_t r = 0; r < rows.size(); ++r) {
      req.rows[r].push_back(std::max_element(logits[r].begin(), logits[r].end()) - logits[r].begin());
      req.record_last[r] = 1;
    }
    logits = model.forward(req, rec ? &*rec : nullptr);
  }
  const auto t2 = Clock::now();
  if (rec)
    for (size_t r = 0; r < rows.size(); ++r) rec->trace(static_cast<int>(r));
  const auto tokens = static_cast<double>(rows.size());
  return {tokens * static_cast<double>(rows[0].size()) / std::chrono::duration<double>(t1 - t0).count(),
          tokens * n / std::chrono::duration<double>(t2 - t1).count()};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "builtin:tiny-gpt-oss";
  ModelOptions mo;
  int batch = 1, prompt_tokens = 64, new_tokens = 32, repeats = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model = v;
    else if (k == "--device") mo.device = v;
    else if (k == "--dtype") mo.dtype = v;
    else if (k == "--batch") batch = std::atoi(v.c_str());
    else if (k == "--prompt-tokens") prompt_tokens = std::atoi(v.c_str());
    else if (k == "--new-tokens") new_tokens = std::atoi(v.c_str());
    else if (k == "--repeats") repeats = std::atoi(v.c_str());
    else {
      fmt::print(stderr, "unknown option {}\n", k);
      return 2;
    }
  }
  try {
    auto lm = load_model(model, mo);
    const auto& info = lm->info();
    std::vector<std::vector<int64_t>> rows(static_cast<size_t>(batch));
    for (int r = 0; r < batch; ++r)
      for (int i = 0; i < prompt_tokens; ++i) rows[static_cast<size_t>(r)].push_back(32 + (i * 7 + r * 13) % 90);
    std::vector<double> prefill[2], decode[2];
    run(*lm, rows, 2, true, 0);  // warm-up
    for (int rep = 0; rep < repeats; ++rep)
      for (int j = 0; j < 2; ++j) {
        const bool record = (j + rep) % 2 == 1;  // alternate the order
        const auto t = run(*lm, rows, new_tokens, record, rep * 2 + j + 1);
        prefill[record].push_back(t.prefill_tps);
        decode[record].push_back(t.decode_tps);
      }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    fmt::print("model {} on {} ({}), {} layers × {} experts, top-{}; {}\n", info.model_id, info.device, info.dtype,
               info.moe_layers.size(), info.num_experts, info.routing.top_k, torch_build_info());
    fmt::print("batch {}, prompt {} tokens, {} new tokens (KV cache), median of {} runs\n", batch, prompt_tokens,
               new_tokens, repeats);
    for (int record = 0; record < 2; ++record)
      fmt::print("  {:<18} prefill {:9.1f} tokens/s   decode {:8.1f} tokens/s\n",
                 record ? "recording logits" : "no recorder", median(prefill[record]), median(decode[record]));
    fmt::print("  recorder overhead: prefill {:+.2f} %, decode {:+.2f} %\n",
               100.0 * (median(prefill[0]) / median(prefill[1]) - 1.0),
               100.0 * (median(decode[0]) / median(decode[1]) - 1.0));
    fmt::print("  peak resident host memory {:.0f} MiB\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
  } catch (const Error& e) {
    fmt::print(stderr, "bench_native: {}\n", e.what());
    return 2;
  }
  return 0;
}
