// Multi-sequence chunks for dataset-trace and statistics tests: deterministic routing of
// samples given by index, with labels, losses and token ids.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "moeroute/dataset.h"
#include "moeroute/trace.h"
#include "trace_fixtures.h"

namespace moeroute::test {

/// Routing of samples [first, first + count): sample s has 3 + s % 5 tokens, label "domain<s % 3>",
/// loss 1 + s / 10 (or NaN for every 7th), random logits with the Qwen3 rule. Deterministic in s,
/// so a sample's rows are the same whichever chunk it is in.
inline RouterTrace sample_chunk(int64_t first, int64_t count, int layers = 3, int experts = 8, int top_k = 2,
                                const std::string& model = "test-model") {
  RouterTrace out;
  for (int64_t s = first; s < first + count; ++s) {
    const int64_t n = 3 + s % 5;
    RouterTrace t = random_trace(layers, experts, top_k, n, 0, static_cast<unsigned>(1000 + s));
    t.meta.model_id = model;
    t.meta.source = "test";
    t.sequence_ids.assign(static_cast<size_t>(n), s);
    t.positions.resize(static_cast<size_t>(n));
    t.segments.assign(static_cast<size_t>(n), RouterTrace::kSegmentPrompt);
    t.token_text.resize(static_cast<size_t>(n));
    for (int64_t p = 0; p < n; ++p) {
      t.positions[static_cast<size_t>(p)] = p;
      t.token_ids[static_cast<size_t>(p)] = (s * 7 + p * 3) % 11;
      t.token_text[static_cast<size_t>(p)] = "tok" + std::to_string(t.token_ids[static_cast<size_t>(p)]);
    }
    t.sequences = {{s, "domain" + std::to_string(s % 3), s % 7 == 6 ? std::nan("") : 1.0 + static_cast<double>(s) / 10,
                    n}};
    if (out.layers.empty()) {
      out = std::move(t);
      continue;
    }
    // Append by hand (the code under test has its own append).
    const auto T0 = static_cast<size_t>(out.num_positions), T1 = static_cast<size_t>(n);
    auto join = [&](auto& a, const auto& b, size_t w) {
      std::decay_t<decltype(a)> c;
      for (size_t l = 0; l < static_cast<size_t>(layers); ++l) {
        c.insert(c.end(), a.begin() + static_cast<std::ptrdiff_t>(l * T0 * w), a.begin() + static_cast<std::ptrdiff_t>((l + 1) * T0 * w));
        c.insert(c.end(), b.begin() + static_cast<std::ptrdiff_t>(l * T1 * w), b.begin() + static_cast<std::ptrdiff_t>((l + 1) * T1 * w));
      }
      a = std::move(c);
    };
    join(out.topk_ids, t.topk_ids, static_cast<size_t>(top_k));
    join(out.gate_weights, t.gate_weights, static_cast<size_t>(top_k));
    join(out.router_logits, t.router_logits, static_cast<size_t>(experts));
    out.token_ids.insert(out.token_ids.end(), t.token_ids.begin(), t.token_ids.end());
    out.token_text.insert(out.token_text.end(), t.token_text.begin(), t.token_text.end());
    out.sequence_ids.insert(out.sequence_ids.end(), t.sequence_ids.begin(), t.sequence_ids.end());
    out.positions.insert(out.positions.end(), t.positions.begin(), t.positions.end());
    out.segments.insert(out.segments.end(), t.segments.begin(), t.segments.end());
    out.sequences.push_back(t.sequences[0]);
    out.num_positions += n;
  }
  return out;
}

/// A dataset summary of `n` samples in one file (what scan_dataset would return for it).
inline DatasetSummary summary_of(int64_t n, const std::string& checksum = "0123456789abcdef") {
  DatasetSummary s;
  DatasetFileSummary f;
  f.path = "data.jsonl";
  f.label = "data";
  f.format = DatasetFormat::Jsonl;
  f.num_samples = n;
  f.bytes = 100;
  f.xxh64 = checksum;
  s.files.push_back(f);
  s.num_samples = n;
  s.labels = {"data"};
  return s;
}

}  // namespace moeroute::test
