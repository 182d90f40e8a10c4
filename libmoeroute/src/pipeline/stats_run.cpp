#include "moeroute/stats_run.h"

#include <optional>

#include <fmt/format.h>

#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "moeroute/output_dir.h"
#include "moeroute/stats_output.h"
#include "pipeline/stats_against.h"

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
  std::optional<detail::AgainstAccumulator> against;
  if (!options.against.empty()) {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (is_state[i])
        throw InputError(fmt::format("{}: a saved stats state holds no per-token routing, so --against cannot pair "
                                     "it; give the traces themselves",
                                     inputs[i].string()));
    against.emplace(options.against, options.input, options.check_tokens);
  }
  RoutingStats stats = all_states ? RoutingStats(RoutingStats::load(inputs[0]).options()) : RoutingStats(options.stats);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (is_state[i]) {
      stats.merge(RoutingStats::load(inputs[i]));
      continue;
    }
    for_each_trace_chunk(
        inputs[i],
        [&](const RouterTrace& chunk, const TraceChunkInfo& info) {
          const std::string source = stats_source_name(info);
          stats.add(chunk, source);
          if (against) against->add(chunk, source);
        },
        options.input);
  }
  if (stats.empty()) throw InputError("stats: the inputs hold no routing");
  StatsRunResult result;
  std::optional<AgainstStats> agreement;
  if (against) agreement = against->finish();  // before anything is written: it may refuse
  if (!options.save_state.empty()) write_file_atomic(options.save_state, stats.serialize());
  result.report = stats.report();
  result.report.against = std::move(agreement);
  if (!options.out.empty()) {
    OutputDir out(options.out);
    write_stats_files(result.report, out);
    result.files = out.commit();
  }
  return result;
}

}  // namespace moeroute
