#include "io/import/routed_requests.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace moeroute::detail {

RoutedRequestWriter::RoutedRequestWriter(ImportContext& ctx, ChunkBuilder& out, bool decoder_layers)
    : ctx_(ctx), out_(out), decoder_layers_(decoder_layers) {}

void RoutedRequestWriter::skip_empty(const std::string& where) {
  ++empty_;
  ctx_.note(fmt::format("requests without routing skipped (the engine returned none: aborted, or recording was off), "
                        "first at {}",
                        where));
}

void RoutedRequestWriter::start(const RoutedRequest& r, int layers, int top_k) {
  source_layers_ = layers;
  top_k_ = top_k;
  std::vector<int> all(static_cast<size_t>(layers));
  std::iota(all.begin(), all.end(), 0);
  kept_ = all;
  if (decoder_layers_ && top_k > 1) {
    // Dense decoder layers are never written: every id 0, which no top-k (k > 1) can be.
    std::vector<bool> routes(static_cast<size_t>(layers), false);
    for (const RoutedArray* a : {&r.prompt, &r.routed})
      for (int64_t t = 0; t < a->rows; ++t)
        for (int l = 0; l < layers; ++l) {
          const int32_t* p = a->ids.data() + (t * layers + l) * top_k;
          for (int j = 0; j < top_k; ++j) routes[static_cast<size_t>(l)] = routes[static_cast<size_t>(l)] || p[j] != 0;
        }
    std::vector<int> kept, dropped;
    for (int l = 0; l < layers; ++l) (routes[static_cast<size_t>(l)] ? kept : dropped).push_back(l);
    if (!kept.empty() && !dropped.empty()) {
      kept_ = kept;
      ctx_.note(fmt::format("dropped decoder layers {} (all ids 0: dense layers the engine never writes)",
                            fmt::join(dropped, ",")));
    }
  }
  has_segments_ = r.layout != RowLayout::FromZero;
  has_tokens_ = r.prompt_ids.has_value() && r.output_ids.has_value();
  out_.begin(source_layers(kept_, "layers.", ctx_), top_k, 0, RowFields{has_segments_, has_tokens_, false});
  out_.meta().extra["import.layer_numbering"] =
      !ctx_.options.layer_map.empty() ? "--layer-map"
      : decoder_layers_               ? "decoder layer index"
                                      : "MoE-layer ordinal (the engine numbers MoE layers only; --layer-map gives model layers)";
  std::string absent = "gate_weights,router_logits";
  if (!has_tokens_) absent = "token_ids," + absent;
  if (!has_segments_) absent = "segments," + absent;
  out_.meta().extra["import.absent"] = absent;
}

void RoutedRequestWriter::write(RoutedRequest&& r) {
  if (r.prompt.empty() && r.routed.empty()) return r.continues_previous ? void() : skip_empty(r.where);
  if (r.continues_previous && sequence_ > 0) --sequence_;
  const RoutedArray& any = r.routed.empty() ? r.prompt : r.routed;
  if (!r.prompt.empty() && !r.routed.empty() &&
      (r.prompt.layers != r.routed.layers || r.prompt.top_k != r.routed.top_k))
    throw InputError(fmt::format("{}: prompt routing is [{}, {}, {}] but generated routing is [{}, {}, {}]", r.where,
                                 r.prompt.rows, r.prompt.layers, r.prompt.top_k, r.routed.rows, r.routed.layers,
                                 r.routed.top_k));
  if (!out_.begun()) start(r, any.layers, any.top_k);
  if (any.layers != source_layers_ || any.top_k != top_k_)
    throw InputError(fmt::format("{}: routing has {} layers × top-{}, but the first request had {} × top-{}", r.where,
                                 any.layers, any.top_k, source_layers_, top_k_));
  const bool tokens = r.prompt_ids.has_value() && r.output_ids.has_value();
  if (has_tokens_ && !tokens)
    throw InputError(fmt::format("{}: the request carries no prompt and output token ids, which the first had", r.where));
  const int64_t P = r.prompt_ids ? static_cast<int64_t>(r.prompt_ids->size()) : r.prompt_len;
  const int64_t G = r.output_ids ? static_cast<int64_t>(r.output_ids->size()) : r.output_len;

  // Each row: its source and its place in the sequence.
  struct Src {
    const int32_t* row;
    int64_t pos;
    uint8_t seg;
  };
  std::vector<Src> src;
  const auto add = [&](const RoutedArray& a, int64_t first, bool know_segment, int64_t prompt_len) {
    for (int64_t t = 0; t < a.rows; ++t) {
      const int64_t pos = first + t;
      const uint8_t seg = know_segment && pos >= prompt_len ? RouterTrace::kSegmentGenerated : RouterTrace::kSegmentPrompt;
      src.push_back({a.ids.data() + t * a.layers * a.top_k, pos, seg});
    }
  };
  switch (r.layout) {
    case RowLayout::Split: {
      if (P >= 0 && r.prompt.rows > P)
        throw InputError(fmt::format("{}: {} prompt routing rows for a {}-token prompt", r.where, r.prompt.rows, P));
      if (G >= 0 && r.routed.rows > G)
        throw InputError(fmt::format("{}: {} generated routing rows for {} generated tokens", r.where, r.routed.rows, G));
      const int64_t base = P >= 0 ? P : r.prompt.rows;
      add(r.prompt, 0, true, base);
      add(r.routed, base, true, base);
      break;
    }
    case RowLayout::RightAligned: {
      if (P < 0 || G < 0) throw Error("RightAligned layout needs the prompt and output lengths");
      const int64_t first = P + G - 1 - r.routed.rows;
      if (first < 0)
        throw InputError(fmt::format("{}: {} routing rows, but prompt + output is only {} tokens (rows cover every token "
                                     "but the last)",
                                     r.where, r.routed.rows, P + G));
      add(r.routed, first, true, P);
      break;
    }
    case RowLayout::FromZero: add(r.routed, r.first_position, false, 0); break;
  }
  if (has_segments_ != (r.layout != RowLayout::FromZero))
    throw InputError(fmt::format("{}: the request does not say which tokens are prompt, which the first did", r.where));

  const auto n = static_cast<int64_t>(src.size());
  const int L = static_cast<int>(kept_.size());
  const auto k = static_cast<size_t>(top_k_);
  // Dropped (dense) layers must stay all zero, or the first request misled us.
  if (static_cast<int>(kept_.size()) != source_layers_)
    for (int l = 0; l < source_layers_; ++l) {
      if (std::find(kept_.begin(), kept_.end(), l) != kept_.end()) continue;
      for (const Src& s : src)
        for (size_t j = 0; j < k; ++j)
          if (s.row[static_cast<size_t>(l) * k + j] != 0)
            throw InputError(fmt::format("{}: layer {} routes here but held only zeros in the first request and was "
                                         "dropped as dense; import with --layer-map to keep every layer",
                                         r.where, l));
    }
  block_.resize(static_cast<size_t>(L) * static_cast<size_t>(n) * k);
  rows_.resize(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    const Src& s = src[static_cast<size_t>(t)];
    for (int l = 0; l < L; ++l)
      std::copy_n(s.row + static_cast<size_t>(kept_[static_cast<size_t>(l)]) * k, k,
                  block_.data() + (static_cast<size_t>(l) * static_cast<size_t>(n) + static_cast<size_t>(t)) * k);
    int64_t token = 0;
    if (has_tokens_) token = s.pos < P ? (*r.prompt_ids)[static_cast<size_t>(s.pos)] : (*r.output_ids)[static_cast<size_t>(s.pos - P)];
    rows_[static_cast<size_t>(t)] = {sequence_, s.pos, s.seg, token};
  }
  check_expert_ids(block_.data(), static_cast<int64_t>(block_.size()), ctx_.num_experts, [&] { return r.where; });
  out_.label_sequence(sequence_, r.label);
  out_.append(n, block_.data(), n * static_cast<int64_t>(k), static_cast<int64_t>(k), nullptr, rows_.data());
  ++sequence_;
}

}  // namespace moeroute::detail
