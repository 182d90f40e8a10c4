#include "export/export_common.h"

#include "dataset/trace_index_util.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

void for_each_export_chunk(const std::filesystem::path& input, const ExportOptions& options,
                           const std::function<void(const RouterTrace&, const std::vector<SequenceRows>&)>& on_chunk) {
  std::optional<DatasetTraceShape> first;
  TraceInputOptions reading = options.input;
  reading.whole_sequences = true;  // a sample is one record of every format
  for_each_trace_chunk(
      input,
      [&](const RouterTrace& chunk, const TraceChunkInfo& info) {
        if (!first) first = shape_of(chunk, LogitsDtype::F32);
        const std::string d = shape_mismatch(*first, chunk);
        if (!d.empty())
          throw InputError(fmt::format("{}{}: chunk {} differs from the first: {}", info.source,
                                       info.part.empty() ? "" : " (" + info.part + ")", info.chunk, d));
        std::vector<SequenceRows> samples;
        for (SequenceRows& s : sequence_rows(chunk))
          if (options.labels.empty() ||
              std::find(options.labels.begin(), options.labels.end(), label_of(s)) != options.labels.end())
            samples.push_back(std::move(s));
        on_chunk(chunk, samples);
      },
      reading);
  if (!first) throw InputError(fmt::format("{}: no routing to export", input.string()));
}

void append_float(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

}  // namespace moeroute::detail
