// Reading and writing RouterTrace files (safetensors; docs/trace-format.md).
#pragma once

#include <filesystem>
#include <string>

#include "moeroute/trace.h"

namespace moeroute {

/// Storage dtype for router logits in a trace file; ids are I32, weights F32.
enum class LogitsDtype { F32, F16, BF16 };

/// "f32", "f16" or "bf16"; throws InputError otherwise.
LogitsDtype parse_logits_dtype(const std::string& name);

/// "f32", "f16" or "bf16".
std::string to_string(LogitsDtype d);

/// Rounds `trace`'s router logits to `dtype` and back, as save_trace + load_trace would: jobs
/// that analyse a trace they also save analyse the saved values.
void round_logits(RouterTrace& trace, LogitsDtype dtype);

struct TraceSaveOptions {
  LogitsDtype logits_dtype = LogitsDtype::F32;  ///< F16/BF16 halve the file; F32 is exact
};

/// Newest trace format version, stored in the file's metadata as "moeroute.format_version". A file
/// is written as version 1 when it uses only version 1's fields (one sequence, raw logits, logical
/// ids), else as version 2 (docs/trace-format.md).
inline constexpr int kTraceFormatVersion = 2;

/// Validates and writes `trace` atomically as safetensors. Throws InputError/IoError.
void save_trace(const RouterTrace& trace, const std::filesystem::path& path, const TraceSaveOptions& options = {});

/// The bytes save_trace writes (validated the same way; `what` names the trace in errors).
std::string serialize_trace(const RouterTrace& trace, const TraceSaveOptions& options = {},
                            const std::string& what = "trace");

/// Reads and fully validates a trace file (header, offsets, dtypes, shapes, metadata).
/// Throws InputError naming the file and the problem.
RouterTrace load_trace(const std::filesystem::path& path);

}  // namespace moeroute
