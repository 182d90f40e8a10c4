// Helpers for building traces row by row (importers, dataset row surgery, the trace job).
#pragma once

#include <vector>

#include "moeroute/trace.h"

namespace moeroute::detail {

/// A trace with `t`'s meta, layers, shape and id space but no rows: what concatenation and row
/// selection start from.
RouterTrace without_rows(const RouterTrace& t);

/// Concatenates traces of one shape (layers, experts, top-k, arrays present, logits kind, id
/// space) row-wise, with one allocation per array; meta comes from the first part, sequences with
/// the same id are merged (token counts added). Throws InputError when a part's shape differs.
RouterTrace concat_rows(std::vector<RouterTrace>&& parts);

}  // namespace moeroute::detail
