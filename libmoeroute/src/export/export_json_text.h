// JSON text for the streaming exporters (seed-json, jsonl): arrays of numbers written straight
// into a string, far faster than building nlohmann values for millions of logits.
#pragma once

#include <cstdint>
#include <string>

#include "moeroute/trace.h"

namespace moeroute::detail {

/// "[[a, b, …], …]": `width` values per row for each row in `rows` of layer `layer` of `data`
/// (a [layers, positions, width] array of `trace`).
template <typename T>
void append_rows_json(std::string& out, const RouterTrace& trace, const std::vector<T>& data, int layer,
                      const std::vector<int64_t>& rows, int width);

/// A JSON string literal (UTF-8 kept; invalid bytes replaced by U+FFFD).
void append_json_string(std::string& out, const std::string& s);
/// A sequence's loss: a number, or null when not measured.
void append_loss(std::string& out, const SequenceInfo* info);

}  // namespace moeroute::detail
