// Uses the installed headers and library: divergence of two distributions and a trace check.
#include <cstdio>

#include <moeroute/divergence.h>
#include <moeroute/trace.h>
#include <moeroute/version.h>

int main() {
  const double p[2] = {1.0, 0.0}, q[2] = {0.0, 1.0};
  const double d = moeroute::jsd(p, q, 2);
  std::printf("moeroute %s: jsd = %g\n", moeroute::kVersion, d);
  return d == 1.0 && moeroute::natural_less("layers.2", "layers.10") ? 0 : 1;
}
