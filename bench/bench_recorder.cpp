// Recorder overhead: generation tokens/s on one model with and without router hooks, modes
// interleaved and repeated so machine noise hits all of them alike. Usage:
//   bench_recorder [--model builtin:tiny-moe|EXPORT.pt] [--device cpu|cuda] [--dtype auto|…]
//                  [--prompt-tokens 64] [--new-tokens 32] [--repeats 7] [--routing-rule TEXT]
// Prints the median tokens/s per mode and its overhead against the unhooked model.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <ATen/ATen.h>

#include "moeroute/error.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/recorder.h"
#include "moeroute/torch/torch_info.h"

using namespace moeroute;

namespace {

struct Mode {
  const char* name;
  CausalLM* model;
  std::optional<RecorderOptions> recording;  // none: no recorder
};

// Greedy generation of `n` tokens, one full forward per token (as generate() does).
double tokens_per_second(const Mode& m, const std::vector<int64_t>& prompt, int n) {
  std::unique_ptr<RoutingRecorder> rec;
  if (m.recording) rec = m.model->make_recorder(*m.recording, 1);
  ForwardRequest req{{prompt}, {static_cast<int64_t>(prompt.size())}, true, {}};
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    const auto logits = m.model->forward(req, rec.get()).logits;
    const auto tok = std::max_element(logits[0].begin(), logits[0].end()) - logits[0].begin();
    req.rows[0].push_back(tok);
    req.record_last[0] = 1;
  }
  if (rec) rec->trace(0);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return n / s;
}

// Microseconds of recorder work per forward for one new position: begin, one observe per layer
// with logits shaped like a 64-token forward, end (rule + copies + harvest).
double recorder_us_per_forward(const ModelInfo& info, const RecorderOptions& o, int iterations) {
  Recorder rec(info.moe_layers, info.num_experts, info.routing, o, 1);
  const auto logits = at::randn({64, info.num_experts});
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    rec.begin_forward(1, 64, {{63, 1}});
    for (int l = 0; l < static_cast<int>(info.moe_layers.size()); ++l) rec.observe(l, logits);
    rec.end_forward();
  }
  rec.trace(0);
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iterations;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "builtin:tiny-moe";
  ModelOptions mo;
  int prompt_tokens = 64, new_tokens = 32, repeats = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model = v;
    else if (k == "--device") mo.device_map = DeviceMap::parse(v);
    else if (k == "--dtype") mo.dtype = parse_model_dtype(v);
    else if (k == "--routing-rule") mo.routing_rule = parse_routing_rule(v);
    else if (k == "--prompt-tokens") prompt_tokens = std::atoi(v.c_str());
    else if (k == "--new-tokens") new_tokens = std::atoi(v.c_str());
    else if (k == "--repeats") repeats = std::atoi(v.c_str());
    else {
      fmt::print(stderr, "unknown option {}\n", k);
      return 2;
    }
  }
  try {
    auto hooked = load_model(model, mo);
    ModelOptions plain_options = mo;
    plain_options.install_hooks = false;
    auto plain = load_model(model, plain_options);
    const auto& info = hooked->info();
    std::vector<int64_t> prompt;
    for (int i = 0; i < prompt_tokens; ++i) prompt.push_back(32 + (i * 7) % 90);  // printable bytes

    RecorderOptions topk;
    topk.keep_logits = false;
    const std::vector<Mode> modes = {{"unhooked", plain.get(), std::nullopt},
                                     {"hooked, no recorder", hooked.get(), std::nullopt},
                                     {"recording top-k", hooked.get(), topk},
                                     {"recording logits", hooked.get(), RecorderOptions{}}};
    std::vector<std::vector<double>> tps(modes.size());
    for (const auto& m : modes) tokens_per_second(m, prompt, 2);  // warm-up (JIT profiling runs)
    for (int r = 0; r < repeats; ++r)
      for (size_t j = 0; j < modes.size(); ++j) {
        const size_t k = (j + static_cast<size_t>(r)) % modes.size();  // rotate the order
        tps[k].push_back(tokens_per_second(modes[k], prompt, new_tokens));
      }
    fmt::print("model {} on {} ({}), {} layers × {} experts, top-{}; {}\n", info.model_id, info.device, info.dtype,
               info.moe_layers.size(), info.num_experts, info.routing.top_k, torch_build_info());
    fmt::print("prompt {} tokens, {} new tokens per run (full re-run per token), median of {} runs\n",
               prompt_tokens, new_tokens, repeats);
    const double base = median(tps[0]);
    for (size_t j = 0; j < modes.size(); ++j) {
      const double m = median(tps[j]);
      fmt::print("  {:<22} {:8.2f} tokens/s  overhead {:+6.2f} %\n", modes[j].name, m, 100.0 * (base / m - 1.0));
    }
    if (info.device == "cpu")
      fmt::print("recorder work per forward (1 new position): {:.1f} us top-k, {:.1f} us with logits\n",
                 recorder_us_per_forward(info, topk, 2000), recorder_us_per_forward(info, {}, 2000));
  } catch (const Error& e) {
    fmt::print(stderr, "bench_recorder: {}\n", e.what());
    return 2;
  }
  return 0;
}
