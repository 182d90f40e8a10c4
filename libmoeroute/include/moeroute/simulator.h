// The routing simulator: a toy MoE layer with noisy top-k gating over fine-grained (micro-)experts
// and always-on shared experts, driven by a slowly drifting token embedding. The same maths runs
// in the HTML simulator (sim_model.js) and in the GIF export; docs/simulator.md defines it.
#pragma once

#include <cstdint>
#include <vector>

namespace moeroute {

/// mulberry32: a 32-bit generator with a 32-bit state, chosen because JavaScript reproduces it
/// exactly (Math.imul), so the HTML simulator and the C++ one draw the same numbers.
class Mulberry32 {
 public:
  explicit Mulberry32(uint32_t seed) : state_(seed) {}
  /// The next 32-bit output.
  uint32_t next_u32();
  /// Uniform in [0, 1): next_u32() / 2^32.
  double uniform();
  /// Standard normal by Box–Muller from two uniforms u1, u2 (cosine branch only):
  /// sqrt(−2 ln(1 − u1)) · cos(2π u2).
  double normal();

 private:
  uint32_t state_;
};

struct SimulatorConfig {
  int local_experts = 6;    ///< N_local: routed experts, each split into micro_experts
  int shared_experts = 2;   ///< S_shared: always-on experts (never gated)
  int micro_experts = 3;    ///< M: micro-experts per expert (fine-grained segmentation)
  int top_k = 6;            ///< micro-experts chosen per token among local_experts · micro_experts
  int embedding_dim = 16;   ///< d: size of the token embedding and of each router column
  double noise = 0.18;      ///< σ: standard deviation of the gating noise added to every logit
  double drift = 0.05;      ///< token walk: x_t = (1 − drift) x_{t−1} + drift ε_t
  uint32_t seed = 42;       ///< seeds the router weights, the token walk and the noise

  /// Micro-experts that can be chosen: local_experts · micro_experts.
  int routed() const { return local_experts * micro_experts; }
  /// Throws InputError naming the field when a value is out of range (docs/simulator.md).
  void validate() const;
};

/// One token's routing decision.
struct GatingResult {
  std::vector<double> logits;   ///< [routed] z = Wᵀ x̂, before noise
  std::vector<double> noisy;    ///< [routed] h = z + σ ε
  std::vector<int> chosen;      ///< top_k micro-expert ids (expert = id / M, micro = id % M), best first
  std::vector<double> weights;  ///< [top_k] softmax of h over the chosen ids, same order
};

/// Noisy top-k gating of one token: top-k of `noisy` (ties: lower id first), weights = softmax
/// over the chosen values. `logits` and `noisy` are copied into the result.
GatingResult top_k_gate(std::vector<double> logits, std::vector<double> noisy, int top_k);

/// The seeded simulation: router weights W [d, routed] ~ N(0, 1) from stream 0, the token walk
/// from stream 1, gating noise from stream 2 (docs/simulator.md, "Random streams").
class RoutingSimulator {
 public:
  /// Validates `config` and draws W.
  explicit RoutingSimulator(const SimulatorConfig& config);
  const SimulatorConfig& config() const { return config_; }
  /// Row-major [d, routed].
  const std::vector<double>& router_weights() const { return w_; }
  /// The unnormalised walk state x_t of the last token (empty before the first).
  const std::vector<double>& token_state() const { return x_; }
  /// Advances to the next token (x_0 = ε_0; x_t = (1 − drift) x_{t−1} + drift ε_t), normalises
  /// it (x̂ = x / ‖x‖), computes z = Wᵀ x̂, draws the noise and gates.
  GatingResult next();

 private:
  SimulatorConfig config_;
  Mulberry32 token_rng_, noise_rng_;
  std::vector<double> w_, x_;
};

/// The seed of random stream `stream` (0 = router weights, 1 = tokens, 2 = noise) for `seed`:
/// seed + stream · 0x9E3779B9 (mod 2^32).
uint32_t simulator_stream_seed(uint32_t seed, uint32_t stream);

}  // namespace moeroute
