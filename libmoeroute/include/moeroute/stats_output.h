// How a StatsReport is shown and stored: a terminal table, stats.json and CSV files, each
// documented field by field in docs/stats.md.
#pragma once

#include <string>
#include <vector>

#include "moeroute/output_dir.h"
#include "moeroute/stats.h"

namespace moeroute {

/// stats.json (numbers that are not defined — no tokens, no logits — are null).
std::string stats_json(const StatsReport& report);

/// The terminal summary: one table per section, the seed's expert-frequency report, notes.
std::string stats_table(const StatsReport& report);

/// The seed's expert_frequency.py report as text: per layer the top and bottom experts by
/// frequency, then the global statistics.
std::string expert_frequency_text(const StatsReport& report);

/// Stages stats.json, the CSV files and expert_frequency.txt in `out`; returns their names.
std::vector<std::string> write_stats_files(const StatsReport& report, OutputDir& out);

}  // namespace moeroute
