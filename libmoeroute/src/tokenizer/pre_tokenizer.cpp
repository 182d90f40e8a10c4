#include "tokenizer/pre_tokenizer.h"

#include <fmt/format.h>

namespace moeroute::detail {

namespace {

// GPT-2's pre-tokenization regex, used by ByteLevel when `use_regex` is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

PreTokenizer PreTokenizer::from_json(const JsonField& spec) {
  PreTokenizer p;
  if (!spec.is_null()) p.add_steps(spec, true);
  return p;
}

void PreTokenizer::add_steps(const JsonField& spec, bool last) {
  if (byte_level_) spec.unsupported("a pre-tokenizer after ByteLevel is not supported");
  const std::string type = spec.at("type").string();
  if (type == "Sequence") {
    const JsonField list = spec.at("pretokenizers");
    const std::size_t n = list.size();
    for (std::size_t i = 0; i < n; ++i) add_steps(list.at(i), last && i + 1 == n);
  } else if (type == "Split") {
    Step step{Step::Kind::split, nullptr, Behavior::isolated, spec.bool_or("invert", false)};
    step.regex = regex_from_pattern(spec.at("pattern"));
    const JsonField behavior = spec.at("behavior");
    const std::string b = behavior.string();
    if (b == "Removed") step.behavior = Behavior::removed;
    else if (b == "Isolated") step.behavior = Behavior::isolated;
    else if (b == "MergedWithPrevious") step.behavior = Behavior::merged_with_previous;
    else if (b == "MergedWithNext") step.behavior = Behavior::merged_with_next;
    else if (b == "Contiguous") step.behavior = Behavior::contiguous;
    else behavior.fail(fmt::format("unknown split behavior '{}'", b));
    steps_.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    if (!last) spec.unsupported("ByteLevel must be the last pre-tokenizer");
    if (spec.bool_or("add_prefix_space", true)) steps_.push_back({Step::Kind::prefix_space, nullptr});
    if (spec.bool_or("use_regex", true)) {
      Step step{Step::Kind::split, nullptr, Behavior::isolated, false};
      step.regex = std::make_unique<Regex>(kGpt2Pattern, "GPT-2 regex");
      steps_.push_back(std::move(step));
    }
    byte_level_ = true;
  } else {
    spec.at("type").unsupported(
        fmt::format("pre-tokenizer '{}' is not supported (supported: Split, ByteLevel, Sequence)", type));
  }
}

void PreTokenizer::apply_split(const Step& step, std::string_view piece, std::vector<std::string_view>& out) const {
  // Hugging Face's NormalizedString::split: the piece as (range, is_match) runs, combined
  // according to the behaviour, empty results dropped.
  thread_local std::vector<std::pair<std::size_t, std::size_t>> matches;
  thread_local std::vector<std::pair<std::pair<std::size_t, std::size_t>, bool>> runs;
  matches.clear();
  runs.clear();
  step.regex->find_all(piece, matches);
  std::size_t prev = 0;
  for (const auto& m : matches) {
    if (prev != m.first) runs.push_back({{prev, m.first}, step.invert});
    runs.push_back({m, !step.invert});
    prev = m.second;
  }
  if (prev != piece.size()) runs.push_back({{prev, piece.size()}, step.invert});

  auto emit = [&](std::size_t a, std::size_t b) {
    if (b > a) out.push_back(piece.substr(a, b - a));
  };
  switch (step.behavior) {
    case Behavior::isolated:
      for (const auto& r : runs) emit(r.first.first, r.first.second);
      break;
    case Behavior::removed:
      for (const auto& r : runs)
        if (!r.second) emit(r.first.first, r.first.second);
      break;
    case Behavior::contiguous:
    case Behavior::merged_with_previous: {
      // Contiguous joins runs of equal kind; MergedWithPrevious appends a match to the run
      // before it.
      std::vector<std::pair<std::size_t, std::size_t>> acc;
      bool previous_match = false;
      for (const auto& r : runs) {
        const bool join = step.behavior == Behavior::contiguous ? r.second == previous_match
                                                                 : (r.second && !previous_match);
        if (join && !acc.empty()) acc.back().second = r.first.second;
        else acc.push_back(r.first);
        previous_match = r.second;
      }
      for (const auto& a : acc) emit(a.first, a.second);
      break;
    }
    case Behavior::merged_with_next: {
      std::vector<std::pair<std::size_t, std::size_t>> acc;
      bool previous_match = false;
      for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
        if (it->second && !previous_match && !acc.empty()) acc.back().first = it->first.first;
        else acc.push_back(it->first);
        previous_match = it->second;
      }
      for (auto it = acc.rbegin(); it != acc.rend(); ++it) emit(it->first, it->second);
      break;
    }
  }
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out,
                         std::deque<std::string>& storage) const {
  if (text.empty()) return;
  const std::size_t first = out.size();
  out.push_back(text);
  std::vector<std::string_view> next;
  for (const Step& step : steps_) {
    next.clear();
    for (std::size_t i = first; i < out.size(); ++i) {
      const std::string_view piece = out[i];
      if (step.kind == Step::Kind::prefix_space) {
        if (piece.front() == ' ') {
          next.push_back(piece);
        } else {
          storage.push_back(" ");
          storage.back().append(piece);
          next.push_back(storage.back());
        }
      } else {
        apply_split(step, piece, next);
      }
    }
    out.resize(first);
    out.insert(out.end(), next.begin(), next.end());
  }
}

}  // namespace moeroute::detail
