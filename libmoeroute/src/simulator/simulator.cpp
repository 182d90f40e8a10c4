#include "moeroute/simulator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;

void check_range(const char* field, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi))
    throw InputError(fmt::format("simulator: {} must be in [{}, {}], got {}", field, lo, hi, value));
}
}  // namespace

uint32_t Mulberry32::next_u32() {
  // Tommy Ettinger's mulberry32, written with explicit 32-bit wrap-around as Math.imul does.
  state_ += 0x6D2B79F5u;
  uint32_t t = state_;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

double Mulberry32::uniform() { return next_u32() / 4294967296.0; }

double Mulberry32::normal() {
  const double u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(kTwoPi * u2);
}

uint32_t simulator_stream_seed(uint32_t seed, uint32_t stream) { return seed + stream * 0x9E3779B9u; }

void SimulatorConfig::validate() const {
  check_range("local_experts (N_local)", local_experts, 1, 64);
  check_range("shared_experts (S_shared)", shared_experts, 0, 16);
  check_range("micro_experts (M)", micro_experts, 1, 16);
  check_range("embedding_dim", embedding_dim, 1, 1024);
  check_range("noise", noise, 0, 10);
  check_range("drift", drift, 0, 1);
  if (top_k < 1 || top_k > routed())
    throw InputError(fmt::format("simulator: top_k must be in [1, N_local · M = {}], got {}", routed(), top_k));
}

GatingResult top_k_gate(std::vector<double> logits, std::vector<double> noisy, int top_k) {
  const int n = static_cast<int>(noisy.size());
  if (top_k < 1 || top_k > n) throw InputError(fmt::format("top_k_gate: top_k {} not in [1, {}]", top_k, n));
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int a, int b) {
    const double ha = noisy[static_cast<size_t>(a)], hb = noisy[static_cast<size_t>(b)];
    return ha > hb || (ha == hb && a < b);
  });
  GatingResult r;
  r.chosen.assign(order.begin(), order.begin() + top_k);
  const double top = noisy[static_cast<size_t>(r.chosen[0])];
  double sum = 0;
  for (int id : r.chosen) {
    r.weights.push_back(std::exp(noisy[static_cast<size_t>(id)] - top));
    sum += r.weights.back();
  }
  for (double& w : r.weights) w /= sum;
  r.logits = std::move(logits);
  r.noisy = std::move(noisy);
  return r;
}

RoutingSimulator::RoutingSimulator(const SimulatorConfig& config)
    : config_(config),
      token_rng_(simulator_stream_seed(config.seed, 1)),
      noise_rng_(simulator_stream_seed(config.seed, 2)) {
  config_.validate();
  Mulberry32 weight_rng(simulator_stream_seed(config.seed, 0));
  w_.resize(static_cast<size_t>(config_.embedding_dim) * static_cast<size_t>(config_.routed()));
  for (double& v : w_) v = weight_rng.normal();
}

GatingResult RoutingSimulator::next() {
  const size_t d = static_cast<size_t>(config_.embedding_dim), n = static_cast<size_t>(config_.routed());
  if (x_.empty()) {
    x_.resize(d);
    for (double& v : x_) v = token_rng_.normal();
  } else {
    for (double& v : x_) v = (1.0 - config_.drift) * v + config_.drift * token_rng_.normal();
  }
  double norm = 0;
  for (double v : x_) norm += v * v;
  norm = std::sqrt(norm);
  // ‖x‖ = 0 has probability zero; guard anyway so a degenerate draw cannot make NaNs.
  const double inv = norm > 0 ? 1.0 / norm : 0.0;
  std::vector<double> z(n, 0.0), h(n);
  for (size_t i = 0; i < d; ++i) {
    const double xi = x_[i] * inv;
    for (size_t j = 0; j < n; ++j) z[j] += xi * w_[i * n + j];
  }
  for (size_t j = 0; j < n; ++j) h[j] = z[j] + config_.noise * noise_rng_.normal();
  return top_k_gate(std::move(z), std::move(h), config_.top_k);
}

}  // namespace moeroute
