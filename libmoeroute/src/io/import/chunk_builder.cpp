#include "io/import/chunk_builder.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace moeroute::detail {

void ImportContext::bad_record(const InputError& error) {
  if (!options.skip_bad_lines) throw error;
  if (report.bad_records == 0) report.first_bad = error.what();
  ++report.bad_records;
}

void ImportContext::note(const std::string& text) {
  if (std::find(report.notes.begin(), report.notes.end(), text) == report.notes.end()) report.notes.push_back(text);
}

std::vector<LayerInfo> source_layers(const std::vector<int>& source_index, const std::string& prefix,
                                     ImportContext& ctx) {
  const auto& map = ctx.options.layer_map;
  if (!map.empty() && map.size() != source_index.size())
    throw InputError(fmt::format("{}: --layer-map gives {} layers but the source has {} (numbered {})", ctx.name,
                                 map.size(), source_index.size(), fmt::join(source_index, ",")));
  std::vector<LayerInfo> out;
  for (size_t i = 0; i < source_index.size(); ++i) {
    const int index = map.empty() ? source_index[i] : map[i];
    out.push_back({prefix + std::to_string(index), index});
  }
  if (!map.empty())
    ctx.note(fmt::format("layers renumbered with --layer-map: source {} → model {}", fmt::join(source_index, ","),
                         fmt::join(map, ",")));
  return out;
}

ChunkBuilder::ChunkBuilder(ImportContext& ctx, const std::function<void(RouterTrace&&)>& sink)
    : ctx_(ctx), sink_(sink) {
  meta_.model_id = ctx.options.model_id.empty() ? ctx.name : ctx.options.model_id;
  meta_.source = "import:" + to_string(ctx.report.format);
}

void ChunkBuilder::begin(std::vector<LayerInfo> layers, int top_k, int num_experts, RowFields fields) {
  if (begun_) throw Error("ChunkBuilder::begin called twice");
  if (layers.empty()) throw InputError(fmt::format("{}: no router layers found", ctx_.name));
  if (top_k <= 0) throw InputError(fmt::format("{}: top-k must be > 0, got {}", ctx_.name, top_k));
  if (num_experts > 0 && ctx_.options.num_experts > 0 && num_experts != ctx_.options.num_experts)
    throw InputError(fmt::format("{}: the file records {} experts per layer but --num-experts is {}", ctx_.name,
                                 num_experts, ctx_.options.num_experts));
  if (num_experts == 0) num_experts = ctx_.num_experts;
  if (num_experts == 0 && !ctx_.scan_only) throw NeedExpertCount{};
  if (num_experts > 0 && top_k > num_experts)
    throw InputError(fmt::format("{}: top-k {} is larger than the {} experts per layer", ctx_.name, top_k,
                                 num_experts));
  layers_ = std::move(layers);
  top_k_ = top_k;
  num_experts_ = num_experts;
  fields_ = fields;
  // At most chunk_rows rows, and at most kChunkBytes per chunk however wide a row is.
  const int64_t row_bytes = static_cast<int64_t>(layers_.size()) * (top_k + (fields.logits ? num_experts : 0)) * 4;
  cap_ = std::max<int64_t>(1, std::min<int64_t>(ctx_.options.chunk_rows, kChunkBytes / std::max<int64_t>(1, row_bytes)));
  begun_ = true;
  ctx_.report.num_layers = num_layers();
  ctx_.report.top_k = top_k;
  if (ctx_.scan_only) return;  // the first pass only needs the largest id
  const auto L = static_cast<size_t>(num_layers());
  ids_.assign(L * static_cast<size_t>(cap_) * static_cast<size_t>(top_k), 0);
  if (fields.logits) logits_.assign(L * static_cast<size_t>(cap_) * static_cast<size_t>(num_experts), 0.0f);
  info_.resize(static_cast<size_t>(cap_));
}

void ChunkBuilder::set_physical(std::vector<int32_t> map, int num_logical_experts) {
  physical_ = true;
  physical_map_ = std::move(map);
  num_logical_ = num_logical_experts;
}

void ChunkBuilder::label_sequence(int64_t id, const std::string& label) { labels_.emplace(id, label); }

void ChunkBuilder::append(int64_t n, const int32_t* ids, int64_t ids_layer_stride, int64_t ids_row_stride,
                          const float* logits, const RowInfo* rows) {
  if (!begun_) throw Error("ChunkBuilder::append before begin");
  const int L = num_layers();
  const auto k = static_cast<size_t>(top_k_);
  if (ctx_.scan_only || num_experts_ == 0)  // the first pass of expert-count inference
    for (int l = 0; l < L; ++l)
      for (int64_t r = 0; r < n; ++r) {
        const int32_t* src = ids + l * ids_layer_stride + r * ids_row_stride;
        for (size_t j = 0; j < k; ++j) max_id_ = std::max(max_id_, src[j]);
      }
  for (int64_t r = 0; r < n; ++r)
    if (rows[r].sequence != last_sequence_ || seen_sequences_.empty()) {
      last_sequence_ = rows[r].sequence;
      seen_sequences_.insert(last_sequence_);
    }
  ctx_.report.rows += n;
  if (ctx_.scan_only) return;
  int64_t done = 0;
  while (done < n) {
    const int64_t take = std::min(n - done, cap_ - rows_);
    for (int l = 0; l < L; ++l) {
      int32_t* dst = ids_.data() + (static_cast<size_t>(l) * static_cast<size_t>(cap_) + static_cast<size_t>(rows_)) * k;
      const int32_t* src = ids + l * ids_layer_stride + done * ids_row_stride;
      if (ids_row_stride == static_cast<int64_t>(k)) {
        std::copy_n(src, static_cast<size_t>(take) * k, dst);  // rows are contiguous: one copy per layer
      } else {
        for (int64_t r = 0; r < take; ++r) std::copy_n(src + r * ids_row_stride, k, dst + static_cast<size_t>(r) * k);
      }
      if (fields_.logits) {
        const auto E = static_cast<size_t>(num_experts_);
        std::copy_n(logits + (static_cast<size_t>(l) * static_cast<size_t>(n) + static_cast<size_t>(done)) * E,
                    static_cast<size_t>(take) * E,
                    logits_.data() + (static_cast<size_t>(l) * static_cast<size_t>(cap_) + static_cast<size_t>(rows_)) * E);
      }
    }
    std::copy_n(rows + done, take, info_.begin() + rows_);
    rows_ += take;
    done += take;
    if (rows_ == cap_) flush();
  }
}

void ChunkBuilder::flush() {
  if (rows_ == 0) return;
  RouterTrace t;
  t.meta = meta_;
  t.layers = layers_;
  t.num_experts = num_experts_;
  t.top_k = top_k_;
  t.num_positions = rows_;
  const int L = num_layers();
  const auto k = static_cast<size_t>(top_k_);
  const auto T = static_cast<size_t>(rows_);
  // A full buffer already has the trace's layout [layers, rows, …]: hand it over whole.
  const auto take = [&](auto& buffer, auto& dst, size_t width) {
    if (rows_ == cap_) {
      dst = std::move(buffer);
      buffer.resize(dst.size());
      return;
    }
    dst.resize(static_cast<size_t>(L) * T * width);
    for (int l = 0; l < L; ++l)
      std::copy_n(buffer.data() + static_cast<size_t>(l) * static_cast<size_t>(cap_) * width, T * width,
                  dst.data() + static_cast<size_t>(l) * T * width);
  };
  take(ids_, t.topk_ids, k);
  if (fields_.logits) take(logits_, t.router_logits, static_cast<size_t>(num_experts_));
  t.sequence_ids.resize(T);
  t.positions.resize(T);
  if (fields_.segments) t.segments.resize(T);
  if (fields_.token_ids) t.token_ids.resize(T);
  std::unordered_map<int64_t, size_t> slot;
  for (size_t r = 0; r < T; ++r) {
    const RowInfo& row = info_[r];
    t.sequence_ids[r] = row.sequence;
    t.positions[r] = row.position;
    if (fields_.segments) t.segments[r] = row.segment;
    if (fields_.token_ids) t.token_ids[r] = row.token;
    auto [it, fresh] = slot.emplace(row.sequence, t.sequences.size());
    if (fresh) {
      const auto label = labels_.find(row.sequence);
      t.sequences.push_back({row.sequence, label == labels_.end() ? "" : label->second, std::nan(""), 0});
    }
    ++t.sequences[it->second].num_tokens;
  }
  if (physical_) {
    t.id_space = ExpertIdSpace::Physical;
    t.physical_to_logical = physical_map_;
    t.num_logical_experts = physical_map_.empty() ? 0 : num_logical_;
  }
  rows_ = 0;
#ifndef NDEBUG
  t.validate(ctx_.name);  // importers check ids as they parse; import_trace validates the whole trace
#endif
  ++ctx_.report.chunks;
  sink_(std::move(t));
}

void ChunkBuilder::finish() {
  ctx_.report.sequences = static_cast<int64_t>(seen_sequences_.size());
  if (!ctx_.scan_only) flush();
}

}  // namespace moeroute::detail
