// Divergences between two discrete distributions over the experts of one layer.
// Exact definitions, log bases and edge cases: docs/metrics.md.
#pragma once

#include <cstddef>
#include <string>

namespace moeroute {

enum class Divergence {
  JSD,            ///< Jensen–Shannon divergence, base 2, in [0, 1]
  KL,             ///< Kullback–Leibler KL(base ‖ var), base 2, var smoothed by kKlEpsilon
  TotalVariation, ///< ½ Σ |p − q|, in [0, 1]
  Hellinger,      ///< sqrt(1 − Σ sqrt(p q)), in [0, 1]
};

/// Smoothing for KL: q_i ← (q_i + ε) / (1 + n ε), so KL stays finite where q_i = 0 < p_i.
inline constexpr double kKlEpsilon = 1e-10;

double jsd(const double* p, const double* q, size_t n);
double kl_divergence(const double* p, const double* q, size_t n);
double total_variation(const double* p, const double* q, size_t n);
double hellinger(const double* p, const double* q, size_t n);
double divergence(Divergence d, const double* p, const double* q, size_t n);

/// "jsd", "kl", "tv", "hellinger".
std::string to_string(Divergence d);
/// Inverse of to_string; throws InputError listing the accepted names.
Divergence parse_divergence(const std::string& name);
/// What the values are, for axis labels and tooltips: "JSD (bits)", "KL (bits)",
/// "total variation", "Hellinger distance".
std::string divergence_label(Divergence d);

}  // namespace moeroute
