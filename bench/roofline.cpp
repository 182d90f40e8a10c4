#include "roofline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "moeroute/checkpoint.h"
#include "moeroute/hf_config.h"

namespace bench {

namespace {

using Clock = std::chrono::steady_clock;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

double StepCost::decode_bytes(int64_t rows, double keys, double active) const {
  const double sliding_keys = window > 0 ? std::min<double>(keys, static_cast<double>(window)) : keys;
  const double per_row = hidden + kv_per_key * keys + kv_per_key_sliding * sliding_keys;
  return layer_bytes + expert_bytes * active / static_cast<double>(experts) + head_bytes +
         element_bytes * static_cast<double>(rows) * per_row;
}

double StepCost::prefill_flops(int64_t tokens) const {
  const double t = static_cast<double>(tokens);
  const double matrices = layer_elements + expert_elements * static_cast<double>(top_k) / static_cast<double>(experts);
  const double keys_per_token = (t + 1) / 2;  // causal: token i attends to i + 1 keys
  const double attention = 2.0 * static_cast<double>(layers * heads * head_dim) * keys_per_token;
  return 2.0 * (t * (matrices + attention) + head_elements);
}

StepCost step_cost(const std::filesystem::path& dir, int64_t element_bytes, int64_t matrix_bytes) {
  const auto config = moeroute::load_hf_config(dir);
  const auto& c = moeroute::decoder_config(config);
  const moeroute::Checkpoint ckpt(dir);
  StepCost s;
  const auto e = static_cast<double>(element_bytes);
  for (const auto& name : ckpt.names()) {
    const auto& shape = ckpt.info(name).shape;
    double numel = 1;
    for (int64_t d : shape) numel *= static_cast<double>(d);
    if (ends_with(name, "_scales")) continue;                    // MXFP4 scales: folded into the values
    const bool mxfp4 = shape.size() == 4 && ends_with(name, "_blocks");
    if (mxfp4) numel *= 2;  // two FP4 values per byte
    const bool router = ends_with(name, "mlp.gate.weight") || ends_with(name, "mlp.router.weight");
    const bool matrix = shape.size() >= 2 && !router && !ends_with(name, "_bias");
    const auto stored = ckpt.info(name).dtype;
    const bool half = mxfp4 || stored == moeroute::Dtype::BF16 || stored == moeroute::Dtype::F16;
    const double bytes = numel * (!matrix ? e : matrix_bytes > 0 ? static_cast<double>(matrix_bytes) : half ? 2.0 : e);
    if (name.find(".mlp.experts.") != std::string::npos) {
      s.expert_elements += numel;
      s.expert_bytes += bytes;
    } else if (name.rfind("model.layers.", 0) == 0) {
      s.layer_elements += numel;
      s.layer_bytes += bytes;
    } else if (name == "lm_head.weight" || name == "model.norm.weight") {
      s.head_elements += numel;
      s.head_bytes += bytes;
    }
  }
  if (c.tie_word_embeddings) {
    const auto& embed = ckpt.info("model.embed_tokens.weight");
    const bool half = embed.dtype == moeroute::Dtype::BF16 || embed.dtype == moeroute::Dtype::F16;
    const double n = static_cast<double>(c.vocab_size * c.hidden_size);
    s.head_elements += n;
    s.head_bytes += n * (matrix_bytes > 0 ? static_cast<double>(matrix_bytes) : half ? 2.0 : e);
  }
  s.element_bytes = e;
  s.hidden = static_cast<double>(c.hidden_size);
  const double kv = 2.0 * static_cast<double>(c.num_key_value_heads * c.head_dim);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) (c.is_sliding(i) ? s.kv_per_key_sliding : s.kv_per_key) += kv;
  s.window = c.sliding_window.value_or(0);
  s.experts = c.num_experts;
  s.top_k = c.num_experts_per_tok;
  s.layers = c.num_hidden_layers;
  s.heads = c.num_attention_heads;
  s.head_dim = c.head_dim;
  return s;
}

double read_bandwidth(int threads) {
  const size_t n = (size_t{512} << 20) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
  for (size_t i = 0; i < n; ++i) buf[i] = i;  // touch every page
  std::atomic<uint64_t> sink{0};
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const size_t a = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
        const size_t b = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // integer sums vectorise without reassociation concerns
        for (size_t i = a; i + 4 <= b; i += 4) {
          s0 += buf[i];
          s1 += buf[i + 1];
          s2 += buf[i + 2];
          s3 += buf[i + 3];
        }
        sink += s0 + s1 + s2 + s3;
      });
    for (auto& th : pool) th.join();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / dt);
  }
  return sink.load() == 42 ? best * 1.0000001 : best;  // keep the sums alive
}

double matmul_flops() {
  c10::InferenceMode guard;
  const int64_t n = 1024;
  const auto a = torch::randn({n, n}), b = torch::randn({n, n});
  (void)at::mm(a, b);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    const auto c = at::mm(a, b);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * static_cast<double>(n * n * n) / dt);
  }
  return best;
}

}  // namespace bench
