#include "moeroute/stats_run.h"

#include <fmt/format.h>

#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "moeroute/output_dir.h"
#include "moeroute/stats_output.h"

namespace moeroute {

std::string stats_source_name(const TraceChunkInfo& info) {
  return info.index ? "run:" + info.index->run_id : info.source;
}

StatsRunResult run_stats(const std::vector<std::filesystem::path>& inputs, const StatsRunOptions& options) {
  if (inputs.empty()) throw InputError("stats: no inputs");
  std::vector<bool> is_state;
  bool all_states = true;
  for (const auto& p : inputs) {
    is_state.push_back(!is_dataset_trace(p) && RoutingStats::is_state_file(p));
    all_states = all_states && is_state.back();
  }
  RoutingStats stats = all_states ? RoutingStats(RoutingStats::load(inputs[0]).options()) : RoutingStats(options.stats);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (is_state[i]) {
      stats.merge(RoutingStats::load(inputs[i]));
      continue;
    }
    for_each_trace_chunk(
        inputs[i], [&](const RouterTrace& chunk, const TraceChunkInfo& info) { stats.add(chunk, stats_source_name(info)); },
        options.input);
  }
  if (stats.empty()) throw InputError("stats: the inputs hold no routing");
  StatsRunResult result;
  if (!options.save_state.empty()) write_file_atomic(options.save_state, stats.serialize());
  result.report = stats.report();
  if (!options.out.empty()) {
    OutputDir out(options.out);
    write_stats_files(result.report, out);
    result.files = out.commit();
  }
  return result;
}

}  // namespace moeroute
