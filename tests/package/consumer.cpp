// Uses the installed headers and libraries: divergence of two distributions, a trace check and,
// with LibTorch, the installed torch plugin found beside the core (one generation step).
#include <cstdio>

#include <moeroute/divergence.h>
#include <moeroute/generate.h>
#include <moeroute/model_registry.h>
#include <moeroute/trace.h>
#include <moeroute/version.h>

int main() {
  const double p[2] = {1.0, 0.0}, q[2] = {0.0, 1.0};
  const double d = moeroute::jsd(p, q, 2);
  std::printf("moeroute %s: jsd = %g\n", moeroute::kVersion, d);
  if (d != 1.0 || !moeroute::natural_less("layers.2", "layers.10")) return 1;
#if CONSUMER_RUNS_MODELS
  auto model = moeroute::load_model("builtin:tiny-moe");
  moeroute::GenerateOptions o;
  o.max_new_tokens = 1;
  const auto g = moeroute::generate(*model, {{72, 105}}, o);
  std::printf("builtin:tiny-moe routed %lld positions\n", static_cast<long long>(g[0].trace.num_positions));
  if (g[0].trace.num_positions != 3) return 1;
#endif
  return 0;
}
