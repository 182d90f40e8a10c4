// llama.cpp gate-input log (seed 003): `gate_input,<layer_id>,<token_id>,<v1 v2 … vn>` per MoE
// layer and token of a ubatch, written layer after layer. Passes are recovered like the expert
// log's (io/import/llama_cpp_experts.cpp): a layer that does not increase, or a token index that
// does not, starts a new pass.
#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "io/line_reader.h"
#include "moeroute/error.h"
#include "moeroute/gate_inputs.h"

namespace moeroute {

namespace {

constexpr std::string_view kPrefix = "gate_input,";

struct Line {
  int layer = 0;
  int64_t token = 0;
};

class GateLogReader {
 public:
  GateLogReader(const std::filesystem::path& path, const GateInputReadOptions& o,
                const std::function<void(const GateInputStep&)>& on_step)
      : in_(path), o_(o), on_step_(on_step) {}

  GateInputReadReport run() {
    std::string_view line;
    while (in_.next(line)) {
      if (line.compare(0, kPrefix.size(), kPrefix) != 0) {
        if (!line.empty()) ++r_.other_lines;
        continue;
      }
      ++r_.lines;
      try {
        parse(line);
      } catch (const InputError& e) {
        if (!o_.skip_bad_lines) throw;
        if (r_.bad_lines++ == 0) r_.first_bad = e.what();
        pass_bad_ = true;
      }
    }
    end_pass();
    if (r_.lines == 0)
      throw InputError(fmt::format("{}: no gate_input lines ({}){}", in_.name(),
                                   "gate_input,layer_id,token_id,values",
                                   in_.bytes_read() == 0 ? ": the file is empty" : ""));
    return r_;
  }

 private:
  [[noreturn]] void fail(const char* at, std::string_view line, const std::string& what) const {
    throw InputError(fmt::format("{}:{}: {}{}", in_.where(), at - line.data() + 1, what,
                                 in_.last_line_unterminated() ? " (the file ends in the middle of this line: truncated?)" : ""));
  }

  int64_t integer(const char*& p, const char* end, std::string_view line, const char* what) const {
    int64_t v = 0;
    const auto [q, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || v < 0 || v > (int64_t{1} << 30))
      fail(p, line, fmt::format("expected the {} (a non-negative integer)", what));
    p = q;
    if (p == end || *p != ',') fail(p, line, fmt::format("expected ',' after the {} (4 fields: gate_input,layer_id,token_id,values)", what));
    ++p;
    return v;
  }

  void parse(std::string_view line) {
    const char* p = line.data() + kPrefix.size();
    const char* end = line.data() + line.size();
    const Line l{static_cast<int>(integer(p, end, line, "layer_id")), integer(p, end, line, "token_id")};
    values_.clear();
    while (p < end) {
      if (*p == ' ' || *p == '\t') {
        ++p;
        continue;
      }
      float v = 0;
      const auto [q, ec] = std::from_chars(p, end, v);
      if (ec == std::errc::result_out_of_range) fail(p, line, "value out of the float range");
      if (ec != std::errc() || (q < end && *q != ' ' && *q != '\t')) {
        const char* w = p;
        while (w < end && *w != ' ' && w - p < 16) ++w;
        fail(p, line, fmt::format("expected a number, got '{}'", std::string(p, w)));
      }
      if (!std::isfinite(v)) fail(p, line, "value is not finite");
      values_.push_back(v);
      p = q;
    }
    if (values_.empty()) fail(p, line, "no values after token_id");
    if (r_.dim == 0) r_.dim = static_cast<int>(values_.size());
    if (static_cast<int>(values_.size()) != r_.dim)
      fail(end, line, fmt::format("{} values, but the first gate_input line has {} (n_embd)", values_.size(), r_.dim));
    route(l);
  }

  void route(const Line& l) {
    if (!layers_.empty()) {
      const int cur = layers_.back();
      const bool seen = std::find(layers_.begin(), layers_.end(), l.layer) != layers_.end();
      const bool same_layer_next_token = l.layer == cur && l.token > last_token_;
      if (!same_layer_next_token && (l.layer <= cur || seen)) end_pass();
    }
    if (layers_.empty()) first_line_ = in_.line_number();
    if (layers_.empty() || layers_.back() != l.layer) {
      layers_.push_back(l.layer);
      vectors_.emplace_back();
      tokens_.push_back(0);
    }
    max_token_ = std::max(max_token_, l.token);
    last_token_ = l.token;
    ++tokens_.back();
    if (l.token == 0) vectors_.back() = values_;  // the one token of a generation step
  }

  void end_pass() {
    if (layers_.empty()) return;
    const bool single = max_token_ == 0 && std::all_of(tokens_.begin(), tokens_.end(), [](int64_t n) { return n == 1; });
    if (pass_bad_) {
      // A skipped line leaves the pass incomplete: drop it too.
    } else if (!single) {
      ++r_.prompt_passes;
    } else {
      GateInputStep s;
      s.step = r_.steps++;
      s.first_line = first_line_;
      // Layers in increasing order (the log's order already is, for well-formed passes).
      std::vector<size_t> order(layers_.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return layers_[a] < layers_[b]; });
      for (size_t i : order) {
        s.layers.push_back(layers_[i]);
        s.values.push_back(std::move(vectors_[i]));
      }
      on_step_(s);
    }
    layers_.clear();
    vectors_.clear();
    tokens_.clear();
    max_token_ = 0;
    last_token_ = -1;
    pass_bad_ = false;
  }

  detail::LineReader in_;
  GateInputReadOptions o_;
  const std::function<void(const GateInputStep&)>& on_step_;
  GateInputReadReport r_;
  std::vector<float> values_;
  std::vector<int> layers_;
  std::vector<std::vector<float>> vectors_;
  std::vector<int64_t> tokens_;
  int64_t max_token_ = 0, last_token_ = -1, first_line_ = 0;
  bool pass_bad_ = false;
};

}  // namespace

GateInputReadReport read_gate_inputs(const std::filesystem::path& path, const GateInputReadOptions& options,
                                     const std::function<void(const GateInputStep&)>& on_step) {
  return GateLogReader(path, options, on_step).run();
}

}  // namespace moeroute
