// llama.cpp expert-selection log (seed 003): one line per token and MoE layer,
//   layer_id,expert_ids          (header, optional)
//   3,52 40 85 110 79 113 60 130 (model layer il, the top-k ids best first, space-separated)
// written from the ffn_moe_topk-<il> tensor of every ubatch, layer after layer. Lines of other
// kinds in the same stream ("gate_input,…") are skipped. Positions come from the layer order:
// a layer number that does not increase starts a new forward pass; a pass of several tokens
// after single-token (decode) passes starts a new sequence. docs/import.md, "llama.cpp".
#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/import/expert_line_scan.h"
#include "io/import/importers.h"
#include "io/line_reader.h"

namespace moeroute::detail {

namespace {

constexpr std::string_view kHeader = "layer_id,expert_ids";
constexpr std::string_view kGateInput = "gate_input,";
constexpr int kMaxTopK = 256;

// One forward pass as the log lists it: per layer (in order of appearance) its tokens' ids.
struct Pass {
  std::vector<int> layers;          // layer numbers in order
  std::vector<int64_t> tokens;      // lines per layer
  // Layer-major ids (all lines of layers[0], then layers[1], …) in a buffer that grows without
  // zero-filling: the hot loop writes a line's ids in place.
  std::unique_ptr<int32_t[]> ids;
  size_t size = 0, capacity = 0;
  int64_t first_line = 0, last_line = 0;
  bool empty() const { return layers.empty(); }
  void clear() {
    layers.clear();
    tokens.clear();
    size = 0;
  }
  // Room for `n` more ids at ids[size].
  int32_t* reserve(size_t n) {
    if (size + n > capacity) {
      const size_t grown = std::max(size + n, capacity * 2 + 4096);
      std::unique_ptr<int32_t[]> bigger(new int32_t[grown]);
      std::copy_n(ids.get(), size, bigger.get());
      ids = std::move(bigger);
      capacity = grown;
    }
    return ids.get() + size;
  }
};

class ExpertLogParser {
 public:
  ExpertLogParser(ImportContext& ctx, ChunkBuilder& out) : ctx_(ctx), out_(out), in_(ctx.path) {}

  void run() {
    std::string_view block;
    while (in_.next_block(block)) scan(block);
    finish_pass();
    if (data_lines_ == 0 && ctx_.report.bad_records == 0)
      throw InputError(fmt::format("{}: no 'layer_id,expert_ids' lines{}", in_.name(),
                                   gate_lines_ > 0 ? " (only gate_input lines: read them with moeroute gate-inputs)"
                                                   : in_.bytes_read() == 0 ? " (the file is empty)" : ""));
    if (gate_lines_ > 0)
      ctx_.note(fmt::format("skipped {} gate_input lines (moeroute gate-inputs reads them)", gate_lines_));
  }

 private:
  // The hot loop: well-formed "<layer>,<id> <id> …\n" lines are parsed in place; anything else
  // (headers, gate_input lines, CRLF, errors) goes through line() with full messages.
  void scan(std::string_view block) {
    const char* base = block.data();
    const size_t size = block.size();
    const bool terminated = block.back() == '\n';  // every line of the block ends in '\n' (a sentinel)
    const auto E = static_cast<uint32_t>(ctx_.num_experts > 0 ? ctx_.num_experts : INT32_MAX);
    NondigitWalker walker(base);
    walker.seek(0);
    size_t pos = 0;
    while (pos < size) {
      ++line_;
      size_t next = 0;
      if (terminated && fast_line(base, walker, pos, next, E)) {
        pos = next;
        continue;
      }
      const char* start = base + pos;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', size - pos));
      const char* stop = nl ? nl : base + size;
      pos = nl ? static_cast<size_t>(nl - base) + 1 : size;
      if (stop > start && stop[-1] == '\r') --stop;
      slow_line(std::string_view(start, static_cast<size_t>(stop - start)), nl == nullptr);
      if (pos < size) walker.seek(pos);
    }
  }

  // Parses the well-formed line at `pos` (setting `next` past its '\n'); false otherwise.
  bool fast_line(const char* base, NondigitWalker& walker, size_t pos, size_t& next, uint32_t E) {
    uint32_t v[kMaxTopK + 1];
    const int count = scan_expert_line(base, walker, pos, v, kMaxTopK + 1, next);
    if (count < 2) return false;
    const int n = count - 1;
    if (n != top_k_) {
      if (top_k_ != 0) return false;
      top_k_ = n;
    }
    uint32_t over = 0;
    for (int i = 1; i <= n; ++i) over |= v[i] >= E;
    if (over) return false;
    int32_t* ids = pass_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(v[i + 1]);
    const int layer = static_cast<int>(v[0]);
    if (!pass_.empty() && layer == pass_.layers.back()) {  // the common case, inline
      pass_.size += static_cast<size_t>(n);
      ++pass_.tokens.back();
      pass_.last_line = line_;
      ++data_lines_;
    } else {
      add(layer, n);
    }
    return true;
  }

  void slow_line(std::string_view line, bool last) {
    unterminated_ = last && in_.last_line_unterminated();
    if (line.empty() || line == kHeader) return;
    if (line.compare(0, kGateInput.size(), kGateInput) == 0) {
      ++gate_lines_;
      return;
    }
    try {
      parse_line(line);
    } catch (const InputError& e) {
      ctx_.bad_record(e);
      bad_in_pass_ = true;
    }
  }

  // Keeps the n ids written at pass_.ids[size] as the line of `layer`.
  void add(int layer, int n) {
    if (pass_.empty() || layer != pass_.layers.back()) {
      // A new layer may end the pass; the line's ids move to the start of the next one.
      int32_t line_ids[kMaxTopK];
      std::copy_n(pass_.ids.get() + pass_.size, n, line_ids);
      begin_line(layer);
      std::copy_n(line_ids, n, pass_.reserve(static_cast<size_t>(n)));
    }
    pass_.size += static_cast<size_t>(n);
    ++pass_.tokens.back();
    pass_.last_line = line_;
    ++data_lines_;
  }

  [[noreturn]] void fail_at(const char* at, std::string_view line, const std::string& what) const {
    const auto column = static_cast<size_t>(at - line.data()) + 1;
    std::string hint;
    if (unterminated_) hint = " (the file ends in the middle of this line: truncated?)";
    throw InputError(fmt::format("{}:{}:{}: {}{}", in_.name(), line_, column, what, hint));
  }

  static std::string shown(const char* p, const char* end) {
    const char* q = p;
    while (q < end && *q != ' ' && *q != ',' && q - p < 20) ++q;
    return q == p ? (p == end ? "the end of the line" : fmt::format("'{}'", *p)) : fmt::format("'{}'", std::string(p, q));
  }

  void parse_line(std::string_view line) {
    const char* p = line.data();
    const char* end = p + line.size();
    // Layer number.
    uint32_t layer = 0;
    const char* start = p;
    while (p < end && static_cast<unsigned>(*p - '0') < 10 && p - start < 7) layer = layer * 10 + static_cast<uint32_t>(*p++ - '0');
    if (p == start || (p < end && static_cast<unsigned>(*p - '0') < 10))
      fail_at(start, line, fmt::format("expected a layer number, got {} (a 'layer_id,expert_ids' line)", shown(start, end)));
    if (p == end || *p != ',')
      fail_at(p, line, fmt::format("expected ',' after the layer number, got {} (2 fields: layer_id,expert_ids)", shown(p, end)));
    ++p;
    // Expert ids, space-separated.
    const int E = ctx_.num_experts;
    line_ids_.clear();
    while (p < end) {
      if (*p == ' ' || *p == '\t') {
        ++p;
        continue;
      }
      const char* id_start = p;
      uint32_t v = 0;
      while (p < end && static_cast<unsigned>(*p - '0') < 10 && p - id_start < 9) v = v * 10 + static_cast<uint32_t>(*p++ - '0');
      if (p == id_start || (p < end && *p != ' ' && *p != '\t'))
        fail_at(id_start, line, fmt::format("expected an expert id (a non-negative integer), got {}", shown(id_start, end)));
      if (E > 0 && v >= static_cast<uint32_t>(E))
        fail_at(id_start, line, fmt::format("expert id {} is not in [0, {}) (--num-experts)", v, E));
      line_ids_.push_back(static_cast<int32_t>(v));
    }
    const int count = static_cast<int>(line_ids_.size());
    if (count == 0) fail_at(p, line, "no expert ids after the layer number (2 fields: layer_id,expert_ids)");
    if (top_k_ == 0) top_k_ = count;
    if (count != top_k_) fail_at(p, line, fmt::format("{} expert ids, but the first line has {} (top-k)", count, top_k_));
    if (count > kMaxTopK) fail_at(p, line, fmt::format("{} expert ids: more than {} per token are not supported", count, kMaxTopK));
    std::copy_n(line_ids_.data(), count, pass_.reserve(static_cast<size_t>(count)));
    add(static_cast<int>(layer), count);
  }

  // Routes the line to the current pass or ends the pass first.
  void begin_line(int layer) {
    if (!pass_.empty()) {
      const int current = pass_.layers.back();
      if (layer == current) return;
      const bool seen = std::find(pass_.layers.begin(), pass_.layers.end(), layer) != pass_.layers.end();
      if (layer < current || seen) finish_pass();
    }
    if (pass_.empty()) pass_.first_line = line_;
    pass_.layers.push_back(layer);
    pass_.tokens.push_back(0);
  }

  void finish_pass() {
    if (pass_.empty()) return;
    try {
      check_pass();
      emit_pass();
    } catch (const InputError& e) {
      ctx_.bad_record(e);
    }
    pass_.clear();
    bad_in_pass_ = false;
  }

  void check_pass() {
    const std::string lines = fmt::format("{}:{}-{}", in_.name(), pass_.first_line, pass_.last_line);
    for (size_t i = 1; i < pass_.layers.size(); ++i)
      if (pass_.tokens[i] != pass_.tokens[0])
        throw InputError(fmt::format("{}: forward pass with {} lines for layer {} but {} for layer {}{}", lines,
                                     pass_.tokens[0], pass_.layers[0], pass_.tokens[i], pass_.layers[i],
                                     bad_in_pass_ ? " (a bad line was skipped in it)" : " (a pass cut short?)"));
    if (!out_.begun()) {
      first_layers_ = pass_.layers;
      out_.begin(source_layers(first_layers_, "layers.", ctx_), top_k_, 0, RowFields{true, false, false});
      out_.meta().extra["import.layer_numbering"] = ctx_.options.layer_map.empty() ? "llama.cpp il (model layer)"
                                                                                   : "--layer-map";
      out_.meta().extra["import.absent"] = "token_ids,gate_weights,router_logits";
      return;
    }
    if (pass_.layers != first_layers_)
      throw InputError(fmt::format("{}: forward pass over layers {} but the first pass had layers {}", lines,
                                   fmt::join(pass_.layers, ","), fmt::join(first_layers_, ",")));
  }

  void emit_pass() {
    const int64_t n = pass_.tokens[0];
    // A multi-token pass after decoding passes is a new prompt; a single-token pass continues
    // the sequence that has tokens, as a decode step.
    if (n > 1) {
      if (decoding_ || position_ == 0) {
        if (decoding_ || any_rows_) ++sequence_;
        position_ = 0;
      }
      decoding_ = false;
    } else if (position_ > 0) {
      decoding_ = true;
    }
    const uint8_t segment = decoding_ ? RouterTrace::kSegmentGenerated : RouterTrace::kSegmentPrompt;
    rows_.resize(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) rows_[static_cast<size_t>(r)] = {sequence_, position_ + r, segment, 0};
    out_.append(n, pass_.ids.get(), n * top_k_, top_k_, nullptr, rows_.data());
    position_ += n;
    any_rows_ = true;
  }

  ImportContext& ctx_;
  ChunkBuilder& out_;
  LineReader in_;
  Pass pass_;
  bool bad_in_pass_ = false;
  std::vector<int> first_layers_;
  std::vector<RowInfo> rows_;
  std::vector<int32_t> line_ids_;
  int top_k_ = 0;
  int64_t gate_lines_ = 0, data_lines_ = 0, line_ = 0;
  bool unterminated_ = false;
  int64_t sequence_ = 0, position_ = 0;
  bool decoding_ = false, any_rows_ = false;
};

}  // namespace

void import_llama_cpp_experts(ImportContext& ctx, ChunkBuilder& out) {
  ExpertLogParser(ctx, out).run();
}

}  // namespace moeroute::detail
