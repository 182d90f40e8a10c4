// Minimal RFC 4180 CSV building: fields with a comma, quote or newline are quoted.
#pragma once

#include <string>
#include <vector>

namespace moeroute::detail {

/// One CSV record terminated by '\n'.
std::string csv_row(const std::vector<std::string>& fields);
/// Shortest text that reads back as the same double ("0.1", "1e-05"); "nan" for NaN.
std::string format_number(double v);

}  // namespace moeroute::detail
