#include "tokenizer/normalizer.h"

#include <fmt/format.h>

#include "tokenizer/unicode_nfc.h"

namespace moeroute::detail {

Normalizer Normalizer::from_json(const JsonField& spec) {
  Normalizer n;
  if (!spec.is_null()) add_steps(spec, n.steps_);
  return n;
}

void Normalizer::add_steps(const JsonField& spec, std::vector<Step>& steps) {
  const std::string type = spec.at("type").string();
  if (type == "Sequence") {
    const JsonField list = spec.at("normalizers");
    for (std::size_t i = 0; i < list.size(); ++i) add_steps(list.at(i), steps);
  } else if (type == "NFC") {
    steps.push_back({Step::Kind::nfc, {}, nullptr});
  } else if (type == "Prepend") {
    steps.push_back({Step::Kind::prepend, spec.at("prepend").string(), nullptr});
  } else if (type == "Replace") {
    steps.push_back({Step::Kind::replace, spec.at("content").string(), regex_from_pattern(spec.at("pattern"))});
  } else {
    spec.at("type").unsupported(
        fmt::format("normalizer '{}' is not supported (supported: NFC, Prepend, Replace, Sequence)", type));
  }
}

std::string Normalizer::apply(std::string_view text) const {
  std::string current(text);
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::nfc:
        if (!nfc_quick_check(current)) current = to_nfc(current);
        break;
      case Step::Kind::prepend:
        if (!current.empty()) current.insert(0, step.text);
        break;
      case Step::Kind::replace: {
        matches.clear();
        step.pattern->find_all(current, matches);
        if (matches.empty()) break;
        std::string out;
        std::size_t prev = 0;
        for (const auto& [start, end] : matches) {
          out.append(current, prev, start - prev);
          out += step.text;
          prev = end;
        }
        out.append(current, prev, std::string::npos);
        current = std::move(out);
        break;
      }
    }
  }
  return current;
}

}  // namespace moeroute::detail
