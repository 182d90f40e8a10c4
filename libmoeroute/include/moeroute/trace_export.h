// Exports of a trace or a dataset trace for other tools (docs/trace-export.md): the seed
// pipeline's JSON (so notebooks written for it keep working), NumPy .npy arrays (one per field)
// and JSON Lines (one record per sample and layer, for DuckDB and pandas). Inputs are read
// chunk by chunk through for_each_trace_chunk; outputs are written atomically.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/trace_input.h"

namespace moeroute {

enum class ExportFormat {
  SeedJson,  ///< one JSON file in the seed's schema (config, strategy, num_experts, num_layers, samples[…])
  Npy,       ///< a directory: one .npy array per field + meta.json
  Jsonl,     ///< one JSON object per line: a sample at a layer
};
/// "seed-json", "npy", "jsonl".
std::string to_string(ExportFormat f);
ExportFormat parse_export_format(const std::string& name);

struct ExportOptions {
  ExportFormat format = ExportFormat::SeedJson;  ///< what to write
  std::string strategy = "topk_baseline";        ///< seed-json: the "strategy" field (the seed's name for plain top-k routing)
  std::vector<std::string> labels;               ///< only samples with one of these labels (empty = all)
  bool logits = true;                            ///< jsonl: include router logits (seed-json always does; npy when present)
  TraceInputOptions input;                       ///< how the input is read
};

/// Exports `input` (a trace file or a dataset trace) to `out` (a file for seed-json and jsonl, a
/// directory for npy). Returns the files written. Throws InputError when the input lacks what the
/// format needs (seed-json: router logits and gate weights) or its chunks disagree.
std::vector<std::string> export_trace(const std::filesystem::path& input, const std::filesystem::path& out,
                                      const ExportOptions& options);

}  // namespace moeroute
