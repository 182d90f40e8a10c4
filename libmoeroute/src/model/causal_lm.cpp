// The model interface's value types: names and parsing of the options' enums, request checks.
#include <cctype>

#include <fmt/format.h>

#include "moeroute/causal_lm.h"
#include "moeroute/error.h"

namespace moeroute {

std::string to_string(ModelDtype d) {
  switch (d) {
    case ModelDtype::Float32: return "float32";
    case ModelDtype::BFloat16: return "bfloat16";
    case ModelDtype::Float16: return "float16";
    default: return "auto";
  }
}

ModelDtype parse_model_dtype(std::string_view s, std::string_view what) {
  if (s == "auto") return ModelDtype::Auto;
  if (s == "float32" || s == "f32" || s == "fp32") return ModelDtype::Float32;
  if (s == "bfloat16" || s == "bf16") return ModelDtype::BFloat16;
  if (s == "float16" || s == "f16" || s == "fp16" || s == "half") return ModelDtype::Float16;
  throw InputError(
      fmt::format("{}: '{}' is not one of auto, float32 (f32), bfloat16 (bf16), float16 (f16)", what, s));
}

std::string to_string(ExpertsImpl e) {
  switch (e) {
    case ExpertsImpl::Loop: return "loop";
    case ExpertsImpl::Gather: return "gather";
    case ExpertsImpl::Grouped: return "grouped";
    default: return "auto";
  }
}

ExpertsImpl parse_experts_impl(std::string_view text, std::string_view what) {
  for (ExpertsImpl e : {ExpertsImpl::Auto, ExpertsImpl::Loop, ExpertsImpl::Gather, ExpertsImpl::Grouped})
    if (text == to_string(e)) return e;
  throw InputError(fmt::format("{}: '{}' is not one of auto, loop, gather, grouped", what, text));
}

std::string DeviceMap::check_device(std::string_view text, std::string_view what) {
  if (text == "cpu" || text == "cuda") return std::string(text);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() <= 9) {
    bool digits = true;
    for (char c : text.substr(5)) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) return std::string(text);
  }
  throw InputError(fmt::format("{}: '{}' is not a device (cpu, cuda, cuda:N)", what, text));
}

DeviceMap DeviceMap::parse(std::string_view text, std::string_view what) {
  DeviceMap m;
  if (text == "auto") {
    m.kind = Kind::Auto;
    return m;
  }
  try {
    m.device = check_device(text, what);
  } catch (const InputError&) {
    throw InputError(fmt::format("{}: '{}' is not one of auto, cpu, cuda, cuda:N (or an explicit map of module "
                                 "prefixes to devices)",
                                 what, text));
  }
  return m;
}

std::string DeviceMap::to_string() const {
  switch (kind) {
    case Kind::Auto: return "auto";
    case Kind::Device: return device;
    case Kind::Explicit: break;
  }
  std::string out = "{";
  for (const auto& [prefix, device_name] : entries)
    out += fmt::format("{}\"{}\": \"{}\"", out.size() > 1 ? ", " : "", prefix, device_name);
  return out + "}";
}

void ForwardRequest::validate(int64_t vocab_size, const std::string& what) const {
  if (rows.empty()) throw Error(fmt::format("{}: forward: no rows", what));
  if (record_last.size() != rows.size()) throw Error(fmt::format("{}: forward: record_last needs one entry per row", what));
  if (!score_last.empty() && score_last.size() != rows.size())
    throw Error(fmt::format("{}: forward: score_last needs one entry per row (or none)", what));
  for (size_t b = 0; b < rows.size(); ++b) {
    const auto len = static_cast<int64_t>(rows[b].size());
    if (len == 0) throw Error(fmt::format("{}: forward: row {} is empty", what, b));
    if (record_last[b] < 0 || record_last[b] > len) throw Error(fmt::format("{}: forward: record_last outside row {}", what, b));
    if (!score_last.empty() && (score_last[b] < 0 || score_last[b] > len - 1))
      throw Error(fmt::format("{}: forward: score_last[{}] = {} but the row has {} next tokens", what, b, score_last[b],
                              len - 1));
    if (vocab_size > 0)
      for (int64_t id : rows[b])
        if (id < 0 || id >= vocab_size)
          throw InputError(fmt::format("{}: token id {} is outside the vocabulary [0, {})", what, id, vocab_size));
  }
}

}  // namespace moeroute
