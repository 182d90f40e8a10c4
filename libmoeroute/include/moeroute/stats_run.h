// The `moeroute stats` job: every input (trace files, dataset traces, saved stats states) into one
// accumulator, then the report, its files and optionally the state (docs/stats.md).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/stats.h"
#include "moeroute/trace_input.h"

namespace moeroute {

struct StatsRunOptions {
  StatsOptions stats;                   ///< what to measure (ignored when every input is a saved state: theirs apply)
  std::filesystem::path out;            ///< directory for stats.json and the CSV files ("" = none)
  std::filesystem::path save_state;     ///< write the accumulator state here for a later merge ("" = none)
  TraceInputOptions input;              ///< how inputs are read (OTHER too)
  std::filesystem::path against;        ///< another trace of the same tokens: top-k agreement with it ("" = none)
  bool check_tokens = true;             ///< --against: every paired row's token ids must agree
};

struct StatsRunResult {
  StatsReport report;
  std::vector<std::string> files;  ///< written to `out`
};

/// Accumulates every input in order (traces through for_each_trace_chunk; a stats state file is
/// merged), then writes the outputs — all files of `out` appear together, or none. With
/// `against`, the inputs' rows are also paired with OTHER's (StatsReport::against; saved states
/// cannot take part). Throws InputError for traces of different models, a sequence counted twice,
/// bad files, or inputs and OTHER that share no tokens.
StatsRunResult run_stats(const std::vector<std::filesystem::path>& inputs, const StatsRunOptions& options);

/// The name statistics give the sequences of a chunk: "run:<run id>" for a dataset trace (the
/// same samples whichever index or rank they were read from), else the input path.
std::string stats_source_name(const TraceChunkInfo& info);

}  // namespace moeroute
