// The report's data document (docs/report.md, "Data"): one JSON object per run and per page,
// built from traces and diffs. Each page lists the views that draw it; a view reads only its
// page's fields and the runs they name, so adding a view is adding fields and a script.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/routing_diff.h"
#include "moeroute/trace.h"

namespace moeroute::detail {

/// The per-run arrays every view of a run draws from: tokens, segments, top-k ids and gate weights.
/// `prompt` is the run's object of generations.json (system, user, generated_text, stop_reason) or null.
nlohmann::ordered_json run_json(const std::string& label, const RouterTrace& trace, const nlohmann::json& prompt);

/// count[l · E + e] = number of top-k slots of layer l over rows [begin, end) that hold expert e.
std::vector<int64_t> expert_slot_counts(const RouterTrace& trace, int64_t begin, int64_t end);

/// A comparison page (views summary, divergence, tokens, shifts, utilisation).
nlohmann::ordered_json comparison_section(const std::string& title, int base_run, int var_run, const RouterTrace& base,
                                          const RouterTrace& var, const RoutingDiff& diff,
                                          const nlohmann::json& generations);

/// A single-trace page (views summary, tokens, utilisation).
nlohmann::ordered_json trace_section(const std::string& title, int run, const RouterTrace& trace);

/// The simulator page (views simulator, replay of `replay_runs`).
nlohmann::ordered_json simulator_section(const std::vector<int>& replay_runs);

/// Colour tables the scripts share with the PNG/GIF renderers: viridis and coolwarm (256 entries each) and the
/// first `experts` expert colours, as "#rrggbb".
nlohmann::ordered_json palette_json(int experts);

}  // namespace moeroute::detail
