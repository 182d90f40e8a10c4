// JSON Lines: every non-blank line of a file parsed as one JSON value, errors with the file's
// line numbers ("<file>:<line>:<column>: …"), streamed in constant memory (io/line_reader.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "io/json_input.h"
#include "moeroute/error.h"

namespace moeroute::detail {

/// Calls `fn(record, line)` for every non-blank line. An InputError from parsing or from `fn`
/// goes to `bad` (which rethrows it or counts it), with " (the file ends in the middle of this
/// line: truncated?)" added for an unterminated last line. Throws InputError when the file holds
/// no record (empty, or blank lines only). Returns the number of records.
int64_t for_each_json_line(const std::filesystem::path& path,
                           const std::function<void(const JsonField& record, int64_t line)>& fn,
                           const std::function<void(const InputError&)>& bad);

}  // namespace moeroute::detail
