// Native model speed: prefill and KV-cache decode tokens/s with and without recording, and decode
// by full re-runs (what a model without a KV cache costs), modes interleaved and repeated so
// machine noise hits all of them alike. Usage:
//   bench_native [--model builtin:tiny-qwen3-moe|CHECKPOINT_DIR] [--device cpu|cuda] [--dtype auto|…]
//                [--experts auto|loop|gather|grouped] [--batch 1|2] [--prompt-tokens 64]
//                [--new-tokens 64] [--repeats 5]
// Prints medians (docs/performance.md, "Native models").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"

using namespace moeroute;

namespace {

using Clock = std::chrono::steady_clock;

struct Mode {
  const char* name;
  std::optional<RecorderOptions> recording;  // none: no recorder
  bool rerun = false;                         // recompute every position each step
};

struct Timing {
  double prefill_tps = 0;  // prompt tokens (all rows) per second
  double decode_tps = 0;   // generated tokens (all rows) per second
};

// One prefill forward, then `n` greedy decode steps.
Timing run(CausalLM& model, const Mode& m, const std::vector<std::vector<int64_t>>& prompts, int n) {
  const auto rows = prompts.size();
  std::unique_ptr<RoutingRecorder> rec;
  if (m.recording) rec = model.make_recorder(*m.recording, static_cast<int>(rows));
  ForwardRequest req;
  req.rows = prompts;
  size_t prompt_tokens = 0;
  for (const auto& p : prompts) {
    req.record_last.push_back(static_cast<int64_t>(p.size()));  // also forces a full prefill
    prompt_tokens += p.size();
  }
  const auto t0 = Clock::now();
  auto logits = model.forward(req, rec.get()).logits;
  const auto t1 = Clock::now();
  for (int i = 0; i < n; ++i) {
    for (size_t r = 0; r < rows; ++r) {
      req.rows[r].push_back(std::max_element(logits[r].begin(), logits[r].end()) - logits[r].begin());
      req.record_last[r] = m.rerun ? static_cast<int64_t>(req.rows[r].size()) : 1;
    }
    logits = model.forward(req, rec.get()).logits;
  }
  if (rec)
    for (size_t r = 0; r < rows; ++r) rec->trace(static_cast<int>(r));
  const auto t2 = Clock::now();
  return {double(prompt_tokens) / std::chrono::duration<double>(t1 - t0).count(),
          double(n * rows) / std::chrono::duration<double>(t2 - t1).count()};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "builtin:tiny-qwen3-moe";
  ModelOptions mo;
  int prompt_tokens = 64, new_tokens = 64, repeats = 5, batch = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model_name = v;
    else if (k == "--device") mo.device_map = DeviceMap::parse(v);
    else if (k == "--dtype") mo.dtype = parse_model_dtype(v);
    else if (k == "--experts") mo.experts = parse_experts_impl(v);
    else if (k == "--batch") batch = std::atoi(v.c_str());
    else if (k == "--prompt-tokens") prompt_tokens = std::atoi(v.c_str());
    else if (k == "--new-tokens") new_tokens = std::atoi(v.c_str());
    else if (k == "--repeats") repeats = std::atoi(v.c_str());
    else {
      fmt::print(stderr, "unknown option {}\n", k);
      return 2;
    }
  }
  if (batch < 1 || batch > 2 || prompt_tokens < 9 || new_tokens < 1 || repeats < 1) {
    fmt::print(stderr, "need --batch 1|2, --prompt-tokens ≥ 9, --new-tokens ≥ 1, --repeats ≥ 1\n");
    return 2;
  }
  try {
    auto model = load_model(model_name, mo);
    const auto& info = model->info();
    // Printable bytes (valid ids in any vocabulary ≥ 128); the second row is 8 tokens shorter (padding).
    std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(batch));
    for (int r = 0; r < batch; ++r)
      for (int i = 0; i < prompt_tokens - 8 * r; ++i) prompts[static_cast<size_t>(r)].push_back(32 + (i * 7 + r) % 90);
    RecorderOptions topk;
    topk.keep_logits = false;
    const std::vector<Mode> modes = {{"no recorder", std::nullopt, false},
                                     {"recording top-k", topk, false},
                                     {"recording logits", RecorderOptions{}, false},
                                     {"full re-run, no cache", std::nullopt, true}};
    std::vector<std::vector<double>> prefill(modes.size()), decode(modes.size());
    for (const auto& m : modes) run(*model, m, prompts, 2);  // warm-up
    for (int r = 0; r < repeats; ++r)
      for (size_t j = 0; j < modes.size(); ++j) {
        const size_t k = (j + static_cast<size_t>(r)) % modes.size();  // rotate the order
        const auto t = run(*model, modes[k], prompts, new_tokens);
        prefill[k].push_back(t.prefill_tps);
        decode[k].push_back(t.decode_tps);
      }
    fmt::print("model {} on {} ({}), {} MoE layers × {} experts, top-{}, experts '{}'; {}\n", info.model_id,
               info.device, info.dtype, info.moe_layers.size(), info.num_experts, info.routing.top_k, to_string(mo.experts),
               torch_build_info());
    fmt::print("batch {}, prompt {} tokens, {} new tokens per row, median of {} runs\n", batch, prompt_tokens,
               new_tokens, repeats);
    const double base = median(decode[0]);
    for (size_t j = 0; j < modes.size(); ++j) {
      const double d = median(decode[j]);
      fmt::print("  {:<22} prefill {:9.1f} tokens/s   decode {:8.1f} tokens/s  ({:+6.2f} % vs no recorder)\n",
                 modes[j].name, median(prefill[j]), d, 100.0 * (base / d - 1.0));
    }
  } catch (const Error& e) {
    fmt::print(stderr, "bench_native: {}\n", e.what());
    return 2;
  }
  return 0;
}
