// The hot loop of diff_routing for the default case (full distribution, JSD): one layer ×
// step pair straight from float logits. Compiled with -ffast-math so glibc's vector exp/log
// are used; non-finite logits are detected with integer bit tests, which fast-math leaves alone.
#pragma once

namespace moeroute::detail {

/// JSD (bits) between softmax(x) and softmax(y) over n experts; adds the two distributions to
/// mass_p / mass_q. `scratch` holds 2n doubles. Returns a negative value, touching nothing,
/// when x or y holds a NaN or infinity.
double jsd_from_logits(const float* x, const float* y, int n, double* mass_p, double* mass_q, double* scratch);

}  // namespace moeroute::detail
