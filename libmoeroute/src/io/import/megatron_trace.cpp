// Megatron-Core router traces (megatron/core/transformer/moe/router_trace.py; docs/import.md,
// "Megatron-Core"): router_trace_rank{r}.jsonl, one record per (step, block, layer) and hook
// call, {"step", "stage", "block", "layer", "rank", "num_tokens", "topk", "top_indices"}, written a
// step at a time. With --moe-routing-trace-capture-logits a record also points into
// logits_rank{r}.bin (bfloat16 [num_tokens, num_experts]) with logit_offset/bytes/shape.
// Rows: the tokens of one step (all its micro-batches, in record order) are one sequence whose
// positions are their ordinal; MTP records are skipped.
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/import/importers.h"
#include "io/import/json_records.h"
#include "moeroute/safetensors.h"

namespace moeroute::detail {

namespace {

struct LayerRows {
  std::vector<int32_t> ids;     // [tokens, k]
  std::vector<float> logits;    // [tokens, E]
  int64_t tokens = 0;
};

class MegatronReader {
 public:
  MegatronReader(ImportContext& ctx, ChunkBuilder& out) : ctx_(ctx), out_(out) {}

  void run() {
    for_each_json_record(ctx_, [&](const JsonField& rec, int64_t line) { record(rec, line); });
    finish_step();
    if (mtp_ > 0) ctx_.note(fmt::format("skipped {} multi-token-prediction (block \"mtp\") records", mtp_));
  }

 private:
  void record(const JsonField& rec, int64_t line) {
    rec.expect_object("a Megatron-Core router trace record");
    const int64_t step = rec.at("step").integer(0, int64_t{1} << 53);
    const std::string block = rec.string_or("block", "decoder");
    if (block == "mtp" || rec.has("mtp_idx")) {
      ++mtp_;
      return;
    }
    if (block != "decoder") rec.at("block").fail(fmt::format("unknown block '{}' (decoder or mtp)", block));
    const int layer = static_cast<int>(rec.at("layer").integer(0, 1 << 20));
    if (have_step_ && step != step_) {
      if (step < step_ || done_steps_.count(step))
        rec.at("step").fail(fmt::format("step {} comes after step {} (records are written a step at a time, in "
                                        "increasing order)",
                                        step, step_));
      finish_step();
    }
    if (!have_step_) {
      have_step_ = true;
      step_ = step;
      first_line_ = line;
    }
    std::vector<int64_t> shape;
    std::vector<int32_t> ids = json_int_array(rec.at("top_indices"), 2, shape);
    const int64_t n = rec.at("num_tokens").integer(0, int64_t{1} << 40);
    const int k = static_cast<int>(rec.at("topk").integer(1, 1 << 16));
    if (shape[0] != n) rec.at("top_indices").fail(fmt::format("has {} rows but num_tokens is {}", shape[0], n));
    if (n > 0 && shape[1] != k) rec.at("top_indices").fail(fmt::format("rows have {} ids but topk is {}", shape[1], k));
    if (top_k_ == 0) top_k_ = k;
    if (k != top_k_) rec.at("topk").fail(fmt::format("topk {} differs from the first record's {}", k, top_k_));
    check_expert_ids(ids.data(), static_cast<int64_t>(ids.size()), ctx_.num_experts > 0 ? ctx_.num_experts : experts_,
                     [&] { return rec.at("top_indices").where(); });
    LayerRows& dst = step_rows_[layer];
    dst.ids.insert(dst.ids.end(), ids.begin(), ids.end());
    dst.tokens += n;
    const bool logits = rec.has("logit_offset");
    if (!logits_known_) {
      logits_known_ = true;
      with_logits_ = logits;
    }
    if (logits != with_logits_)
      rec.fail(with_logits_ ? "no logit_offset, but earlier records point into the logits sidecar"
                            : "logit_offset, but earlier records have no logits");
    if (logits) read_logits(rec, n, dst);
    last_line_ = line;
  }

  void read_logits(const JsonField& rec, int64_t n, LayerRows& dst) {
    const auto shape = rec.at("logit_shape");
    if (shape.size() != 2) shape.fail("expected [num_tokens, num_experts]");
    const int64_t rows = shape.at(0).integer(0, int64_t{1} << 40);
    const int E = static_cast<int>(shape.at(1).integer(1, 1 << 20));
    if (rows != n) shape.fail(fmt::format("has {} rows but num_tokens is {}", rows, n));
    if (experts_ == 0) experts_ = E;
    if (E != experts_) shape.fail(fmt::format("{} experts, earlier records {}", E, experts_));
    const int64_t offset = rec.at("logit_offset").integer(0, int64_t{1} << 50);
    const int64_t bytes = rec.at("logit_bytes").integer(0, int64_t{1} << 50);
    if (bytes != n * E * 2) rec.at("logit_bytes").fail(fmt::format("expected {} (bfloat16 [{}, {}])", n * E * 2, n, E));
    const int64_t rank = rec.at("rank").integer(0, 1 << 20);
    auto& f = sidecars_[rank];
    const auto path = ctx_.path.parent_path() / fmt::format("logits_rank{}.bin", rank);
    if (!f.is_open()) {
      f.open(path, std::ios::binary);
      if (!f) rec.at("logit_offset").fail(fmt::format("the logits sidecar {} cannot be opened", path.string()));
    }
    std::vector<uint16_t> raw(static_cast<size_t>(n * E));
    f.seekg(offset);
    f.read(reinterpret_cast<char*>(raw.data()), bytes);
    if (f.gcount() != bytes) {
      f.clear();
      rec.at("logit_offset").fail(fmt::format("{} ends before bytes {}–{}: truncated?", path.string(), offset, offset + bytes));
    }
    for (uint16_t b : raw) dst.logits.push_back(bf16_to_float(b));
  }

  void finish_step() {
    if (!have_step_) return;
    const std::string where = fmt::format("{}:{}-{}: step {}", ctx_.name, first_line_, last_line_, step_);
    have_step_ = false;
    done_steps_.insert(step_);
    auto rows = std::move(step_rows_);
    step_rows_.clear();
    if (rows.empty()) return;
    try {
      emit(rows, where);
    } catch (const InputError& e) {
      ctx_.bad_record(e);
    }
  }

  void emit(std::map<int, LayerRows>& rows, const std::string& where) {
    std::vector<int> layers;
    for (const auto& [l, _] : rows) layers.push_back(l);
    const int64_t n = rows.begin()->second.tokens;
    for (const auto& [l, r] : rows)
      if (r.tokens != n)
        throw InputError(fmt::format("{}: layer {} has {} tokens but layer {} has {} (records missing, or files of "
                                     "different pipeline stages mixed?)",
                                     where, l, r.tokens, layers.front(), n));
    if (!out_.begun()) {
      first_layers_ = layers;
      out_.begin(source_layers(layers, "layers.", ctx_), top_k_, experts_, RowFields{false, false, with_logits_});
      out_.meta().extra["import.layer_numbering"] =
          ctx_.options.layer_map.empty() ? "Megatron decoder.layers.<n> (local to the pipeline stage; --layer-map gives "
                                           "model layers)"
                                         : "--layer-map";
      out_.meta().extra["import.absent"] = std::string("token_ids,segments,gate_weights") + (with_logits_ ? "" : ",router_logits");
      out_.meta().extra["import.positions"] = "ordinal of the token within its step (Megatron records no positions)";
      if (with_logits_) out_.meta().extra["import.router_logits"] = "raw: TopKRouter.gating output (pre-top-k), bfloat16";
    } else if (layers != first_layers_) {
      throw InputError(fmt::format("{}: layers {} but the first step had layers {}", where, fmt::join(layers, ","),
                                   fmt::join(first_layers_, ",")));
    }
    const auto k = static_cast<size_t>(top_k_);
    const auto E = static_cast<size_t>(out_.num_experts());
    block_.resize(layers.size() * static_cast<size_t>(n) * k);
    logits_.resize(with_logits_ ? layers.size() * static_cast<size_t>(n) * E : 0);
    size_t l = 0;
    for (const auto& [_, r] : rows) {
      std::copy(r.ids.begin(), r.ids.end(), block_.begin() + static_cast<std::ptrdiff_t>(l * static_cast<size_t>(n) * k));
      if (with_logits_)
        std::copy(r.logits.begin(), r.logits.end(), logits_.begin() + static_cast<std::ptrdiff_t>(l * static_cast<size_t>(n) * E));
      ++l;
    }
    info_.resize(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) info_[static_cast<size_t>(t)] = {step_, t, RouterTrace::kSegmentPrompt, 0};
    out_.label_sequence(step_, fmt::format("step {}", step_));
    out_.append(n, block_.data(), n * static_cast<int64_t>(k), static_cast<int64_t>(k),
                with_logits_ ? logits_.data() : nullptr, info_.data());
  }

  ImportContext& ctx_;
  ChunkBuilder& out_;
  bool have_step_ = false;
  int64_t step_ = 0, first_line_ = 0, last_line_ = 0, mtp_ = 0;
  std::set<int64_t> done_steps_;
  std::map<int, LayerRows> step_rows_;
  std::vector<int> first_layers_;
  int top_k_ = 0, experts_ = 0;
  bool logits_known_ = false, with_logits_ = false;
  std::map<int64_t, std::ifstream> sidecars_;
  std::vector<int32_t> block_;
  std::vector<float> logits_;
  std::vector<RowInfo> info_;
};

}  // namespace

void import_megatron_trace(ImportContext& ctx, ChunkBuilder& out) { MegatronReader(ctx, out).run(); }

}  // namespace moeroute::detail
