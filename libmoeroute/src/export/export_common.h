// Shared pieces of the exporters: walking an input's samples in order with their rows, checking
// that chunks agree, and number formatting.
#pragma once

#include <functional>
#include <string>

#include "moeroute/trace_concat.h"
#include "moeroute/trace_export.h"

namespace moeroute::detail {

/// Calls `on_chunk(chunk, samples)` for every chunk of the input, in order, with the chunk's
/// samples that pass the label filter. Chunks must agree in shape (layers, experts, top-k,
/// arrays present, logits kind). Throws InputError when the input has no chunk.
void for_each_export_chunk(const std::filesystem::path& input, const ExportOptions& options,
                           const std::function<void(const RouterTrace&, const std::vector<SequenceRows>&)>& on_chunk);

/// Shortest decimal that reads back as the same float ("0.1", "-3.25e-05"); JSON has no NaN or
/// infinity, so those become null.
void append_float(std::string& out, float v);
/// The label of a sample ("" when its trace does not describe it).
inline const std::string& label_of(const SequenceRows& s) {
  static const std::string none;
  return s.info ? s.info->label : none;
}

}  // namespace moeroute::detail
