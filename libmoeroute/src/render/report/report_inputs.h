// Reading the report's inputs from disk: a compare output directory (meta.json, the two traces,
// generations.json) becomes the traces, their diff and the generations document.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "moeroute/routing_diff.h"
#include "moeroute/trace.h"

namespace moeroute::detail {

struct ComparisonInput {
  RouterTrace base, var;
  RoutingDiff diff;
  nlohmann::json generations;  ///< null when the directory has no generations.json
};

/// Loads `dir`; the diff is recomputed from the traces with meta.json's distribution and
/// divergence. Throws InputError naming the missing or malformed file (and field).
ComparisonInput load_comparison_dir(const std::filesystem::path& dir, int threads);

/// Throws InputError when `trace` (named `what`) has no rows: an empty trace has nothing to show.
void require_rows(const RouterTrace& trace, const std::string& what);

/// diff_routing(base, var) with `options`, refusing a pair without an aligned step.
RoutingDiff diff_for_report(const RouterTrace& base, const RouterTrace& var, const RoutingDiffOptions& options);

}  // namespace moeroute::detail
