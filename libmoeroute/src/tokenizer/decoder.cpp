#include "tokenizer/decoder.h"

#include <optional>

#include <fmt/format.h>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace moeroute::detail {

namespace {

// "<0xAB>" → 0xAB.
std::optional<unsigned char> fallback_byte(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return std::nullopt;
  unsigned value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = token[static_cast<std::size_t>(i)];
    value <<= 4;
    if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
    else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
    else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
    else return std::nullopt;
  }
  return static_cast<unsigned char>(value);
}

std::vector<std::string> byte_level(std::vector<std::string> tokens) {
  std::string bytes;
  for (const std::string& t : tokens) {
    if (auto raw = byte_level_to_bytes(t)) bytes += *raw;
    else bytes += t;  // not byte-level text (e.g. an added token): its own bytes
  }
  return {utf8_repair(bytes)};
}

std::vector<std::string> byte_fallback(std::vector<std::string> tokens) {
  std::vector<std::string> out;
  std::string pending;
  std::size_t pending_count = 0;
  auto flush = [&] {
    if (pending_count == 0) return;
    if (utf8_is_valid(pending)) {
      out.push_back(pending);
    } else {
      std::string replacement;
      for (std::size_t i = 0; i < pending_count; ++i) replacement += "\xEF\xBF\xBD";
      out.push_back(replacement);
    }
    pending.clear();
    pending_count = 0;
  };
  for (std::string& t : tokens) {
    if (const auto b = fallback_byte(t)) {
      pending.push_back(static_cast<char>(*b));
      ++pending_count;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  return out;
}

// Removes up to `start` leading and `stop` trailing copies of the character `c`.
std::string strip(const std::string& token, const std::string& c, std::size_t start, std::size_t stop) {
  std::size_t begin = 0;
  std::size_t end = token.size();
  for (std::size_t i = 0; i < start && !c.empty() && token.compare(begin, c.size(), c) == 0; ++i) begin += c.size();
  for (std::size_t i = 0; i < stop && !c.empty() && end >= begin + c.size() &&
                          token.compare(end - c.size(), c.size(), c) == 0;
       ++i)
    end -= c.size();
  return token.substr(begin, end - begin);
}

}  // namespace

Decoder Decoder::from_json(const JsonField& spec) {
  Decoder d;
  if (!spec.is_null()) {
    d.null_ = false;
    add_steps(spec, d.steps_);
  }
  return d;
}

void Decoder::add_steps(const JsonField& spec, std::vector<Step>& steps) {
  const std::string type = spec.at("type").string();
  if (type == "Sequence") {
    const JsonField list = spec.at("decoders");
    for (std::size_t i = 0; i < list.size(); ++i) add_steps(list.at(i), steps);
  } else if (type == "ByteLevel") {
    steps.push_back({Step::Kind::byte_level, {}, 0, 0, nullptr});
  } else if (type == "ByteFallback") {
    steps.push_back({Step::Kind::byte_fallback, {}, 0, 0, nullptr});
  } else if (type == "Fuse") {
    steps.push_back({Step::Kind::fuse, {}, 0, 0, nullptr});
  } else if (type == "Strip") {
    const auto count = [&](std::string_view key) {
      const JsonField f = spec.at(key);
      if (f.integer() < 0) f.fail("expected a non-negative count");
      return static_cast<std::size_t>(f.integer());
    };
    steps.push_back({Step::Kind::strip, spec.at("content").string(), count("start"), count("stop"), nullptr});
  } else if (type == "Replace") {
    steps.push_back({Step::Kind::replace, spec.at("content").string(), 0, 0,
                     regex_from_pattern(spec.at("pattern"))});
  } else {
    spec.at("type").unsupported(fmt::format(
        "decoder '{}' is not supported (supported: ByteLevel, ByteFallback, Fuse, Strip, Replace, Sequence)", type));
  }
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
  if (null_) {
    std::string out;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::byte_level:
        tokens = byte_level(std::move(tokens));
        break;
      case Step::Kind::byte_fallback:
        tokens = byte_fallback(std::move(tokens));
        break;
      case Step::Kind::fuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens = {all};
        break;
      }
      case Step::Kind::strip:
        for (std::string& t : tokens) t = strip(t, step.content, step.start, step.stop);
        break;
      case Step::Kind::replace:
        for (std::string& t : tokens) {
          matches.clear();
          step.pattern->find_all(utf8_is_valid(t) ? std::string_view(t) : std::string_view(), matches);
          std::string out;
          std::size_t prev = 0;
          for (const auto& [a, b] : matches) {
            out.append(t, prev, a - prev);
            out += step.content;
            prev = b;
          }
          out.append(t, prev, std::string::npos);
          t = std::move(out);
        }
        break;
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace moeroute::detail
