// Shared by the JSON Lines importers (vLLM, SGLang, Megatron): records line by line with the
// file's line numbers in every error, and fast typed reading of large integer arrays.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "io/import/chunk_builder.h"
#include "io/json_input.h"

namespace moeroute::detail {

/// Calls `fn` with every non-blank line of ctx.path parsed as JSON (errors read
/// "<file>:<line>:<column>: …"). A record whose parsing or handling throws InputError goes to
/// ctx.bad_record (rethrown unless skip_bad_lines); a truncated last line is reported as such.
/// Throws InputError when the file holds no record.
void for_each_json_record(ImportContext& ctx, const std::function<void(const JsonField& record, int64_t line)>& fn);

/// A rectangular array of integers of rank `rank` (nested JSON lists) as int32, row-major;
/// `shape` receives its dimensions. Errors name the element ("field 'a[3][1]': expected an
/// integer …", "… has 7 elements but a[0] has 8": ragged).
std::vector<int32_t> json_int_array(const JsonField& f, int rank, std::vector<int64_t>& shape);

/// A list of integers (token ids) as int64.
std::vector<int64_t> json_int64_list(const JsonField& f);

}  // namespace moeroute::detail
