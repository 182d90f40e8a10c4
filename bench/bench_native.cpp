// Native model speed: prefill and KV-cache decode tokens/s with and without recording, and decode
// by full re-runs (what a model without a KV cache costs), modes interleaved and repeated so
// machine noise hits all of them alike; for a checkpoint directory also the roofline: the bytes a
// decode step must read against the read bandwidth measured in the same run, and prefill FLOP/s
// against a measured matmul. Usage:
//   bench_native [--model builtin:tiny-qwen3-moe|CHECKPOINT_DIR] [--device cpu|cuda] [--dtype auto|…]
//                [--weight-dtype auto|float32|bfloat16|float16]
//                [--experts auto|loop|gather|grouped] [--cuda-graphs 1|0] [--threads N] [--batch 1|2] [--prompt-tokens 64]
//                [--new-tokens 64] [--repeats 5] [--rerun 1|0]   (0: skip the slow full re-run mode)
// Prints medians (docs/performance.md, "Native models").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"
#include "roofline.h"

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
  std::vector<RouterTrace> traces;  // when recording
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
  Timing t;
  if (rec)
    for (size_t r = 0; r < rows; ++r) t.traces.push_back(rec->trace(static_cast<int>(r)));
  const auto t2 = Clock::now();
  t.prefill_tps = double(prompt_tokens) / std::chrono::duration<double>(t1 - t0).count();
  t.decode_tps = double(n * rows) / std::chrono::duration<double>(t2 - t1).count();
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Distinct experts per MoE layer per decode step over the rows of one batch (each row's decode
// positions follow its prompt; the rows decode in lockstep).
double mean_active_experts(const std::vector<RouterTrace>& traces, const std::vector<std::vector<int64_t>>& prompts) {
  const auto& t0 = traces.front();
  const int L = static_cast<int>(t0.layers.size());
  const int64_t steps = t0.num_positions - static_cast<int64_t>(prompts[0].size());
  double sum = 0;
  int64_t count = 0;
  for (int64_t s = 0; s < steps; ++s)
    for (int l = 0; l < L; ++l) {
      std::set<int32_t> ids;
      for (size_t r = 0; r < traces.size(); ++r) {
        const int64_t p = static_cast<int64_t>(prompts[r].size()) + s;
        const int32_t* id = traces[r].topk_ids_at(l, p);
        ids.insert(id, id + traces[r].top_k);
      }
      sum += static_cast<double>(ids.size());
      ++count;
    }
  return count ? sum / static_cast<double>(count) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "builtin:tiny-qwen3-moe";
  ModelOptions mo;
  int prompt_tokens = 64, new_tokens = 64, repeats = 5, batch = 1;
  bool rerun = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model_name = v;
    else if (k == "--device") mo.device_map = DeviceMap::parse(v);
    else if (k == "--dtype") mo.dtype = parse_model_dtype(v);
    else if (k == "--weight-dtype") mo.weight_dtype = parse_model_dtype(v);
    else if (k == "--experts") mo.experts = parse_experts_impl(v);
    else if (k == "--cuda-graphs") mo.cuda_graphs = v != "0";
    else if (k == "--threads") mo.threads = std::atoi(v.c_str());
    else if (k == "--batch") batch = std::atoi(v.c_str());
    else if (k == "--prompt-tokens") prompt_tokens = std::atoi(v.c_str());
    else if (k == "--new-tokens") new_tokens = std::atoi(v.c_str());
    else if (k == "--repeats") repeats = std::atoi(v.c_str());
    else if (k == "--rerun") rerun = v != "0";
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
    std::vector<Mode> modes = {{"no recorder", std::nullopt, false},
                               {"recording top-k", topk, false},
                               {"recording logits", RecorderOptions{}, false}};
    if (rerun) modes.push_back({"full re-run, no cache", std::nullopt, true});
    std::vector<std::vector<double>> prefill(modes.size()), decode(modes.size());
    std::vector<RouterTrace> traces;
    for (const auto& m : modes) run(*model, m, prompts, 2);  // warm-up
    for (int r = 0; r < repeats; ++r)
      for (size_t j = 0; j < modes.size(); ++j) {
        const size_t k = (j + static_cast<size_t>(r)) % modes.size();  // rotate the order
        auto t = run(*model, modes[k], prompts, new_tokens);
        prefill[k].push_back(t.prefill_tps);
        decode[k].push_back(t.decode_tps);
        if (k == 1) traces = std::move(t.traces);
      }
    const int threads = at::get_num_threads();
    fmt::print("model {} on {} ({}{}{}), {} MoE layers × {} experts, top-{}, experts '{}', {} threads; {}\n",
               info.model_id, info.device, info.dtype, info.weight_dtype.empty() ? "" : ", weights ", info.weight_dtype,
               info.moe_layers.size(), info.num_experts, info.routing.top_k,
               to_string(mo.experts), threads, torch_build_info());
    fmt::print("batch {}, prompt {} tokens, {} new tokens per row, median of {} runs\n", batch, prompt_tokens,
               new_tokens, repeats);
    const double base = median(decode[0]);
    for (size_t j = 0; j < modes.size(); ++j) {
      const double d = median(decode[j]);
      fmt::print("  {:<22} prefill {:9.1f} tokens/s   decode {:8.1f} tokens/s  ({:+6.2f} % vs no recorder)\n",
                 modes[j].name, median(prefill[j]), d, 100.0 * (base / d - 1.0));
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(model_name, ec) || info.device != "cpu") {
      fmt::print("roofline: only for a checkpoint directory on the CPU\n");
      return 0;
    }
    const int64_t esize = info.dtype == "float32" ? 4 : 2;
    const int64_t matrix = info.weight_dtype.empty() ? esize : info.weight_dtype.find('+') != std::string::npos ? 0 : 2;
    const auto cost = bench::step_cost(model_name, esize, matrix);
    const double active = batch == 1 ? static_cast<double>(cost.top_k) : mean_active_experts(traces, prompts);
    // Mean cached positions a decode step reads: the longer row's prompt plus half the new tokens.
    const double keys = prompt_tokens + new_tokens / 2.0;
    const double bytes = cost.decode_bytes(batch, keys, active);
    const double bw1 = bench::read_bandwidth(1), bwn = threads > 1 ? bench::read_bandwidth(threads) : bw1;
    const double roof = batch * bwn / bytes;
    fmt::print("decode roofline: {:.1f} MB per step (weights {:.1f} MB with {:.2f} active experts per layer, KV {:.2f} "
               "MB at {:.0f} keys); read bandwidth {:.1f} GB/s (1 thread), {:.1f} GB/s ({} threads) → {:.1f} tokens/s; "
               "no recorder reaches {:.1f} % of it\n",
               bytes / 1e6, cost.decode_bytes(batch, 0, active) / 1e6, active,
               (bytes - cost.decode_bytes(batch, 0, active)) / 1e6, keys, bw1 / 1e9, bwn / 1e9, threads, roof,
               100.0 * base / roof);
    const double flops = cost.prefill_flops(prompt_tokens) * batch;  // rows ≈ the same length
    const double mm = bench::matmul_flops();
    const double achieved = flops * median(prefill[0]) / (prompt_tokens * batch);
    fmt::print("prefill: {:.2f} GFLOP per row, {:.1f} GFLOP/s achieved = {:.1f} % of a measured 1024³ matmul's "
               "{:.1f} GFLOP/s ({} threads)\n",
               flops / batch / 1e9, achieved / 1e9, 100.0 * achieved / mm, mm / 1e9, threads);
  } catch (const Error& e) {
    fmt::print(stderr, "bench_native: {}\n", e.what());
    return 2;
  }
  return 0;
}
