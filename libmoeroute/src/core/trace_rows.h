// Helpers for building traces row by row (importers, dataset row surgery).
#pragma once

#include "moeroute/trace.h"

namespace moeroute::detail {

/// A trace with `t`'s meta, layers, shape and id space but no rows: what concatenation and row
/// selection start from.
RouterTrace without_rows(const RouterTrace& t);

}  // namespace moeroute::detail
