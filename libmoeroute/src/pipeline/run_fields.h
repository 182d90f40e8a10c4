// The run-field table behind moeroute/run_config.h, for parsers that hold a JsonField (input.json
// keeps its line:column positions in errors).
#pragma once

#include <string>
#include <vector>

#include "io/json_input.h"
#include "moeroute/run_config.h"

namespace moeroute::detail {

/// Applies every run member of the object `fields` to `config` and returns the other member names
/// in the object's order. model_path wins over model_id.
std::vector<std::string> apply_run_fields(RunConfig& config, const JsonField& fields);

}  // namespace moeroute::detail
