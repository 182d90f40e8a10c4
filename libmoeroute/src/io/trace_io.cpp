#include "moeroute/trace_io.h"

#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "moeroute/safetensors.h"

namespace moeroute {

namespace {

constexpr const char* kFormatKey = "moeroute.format";
constexpr const char* kFormatName = "moeroute.trace";
constexpr const char* kVersionKey = "moeroute.format_version";
constexpr const char* kTraceKey = "moeroute.trace";

template <typename T>
std::string_view as_bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

template <typename T>
std::vector<T> copy_out(std::string_view bytes) {
  std::vector<T> v(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

std::string trace_header_json(const RouterTrace& t) {
  nlohmann::ordered_json j;
  j["model_id"] = t.meta.model_id;
  j["source"] = t.meta.source;
  j["routing_rule"] = t.meta.routing_rule;
  j["num_experts"] = t.num_experts;
  j["top_k"] = t.top_k;
  j["num_positions"] = t.num_positions;
  j["prompt_length"] = t.prompt_length;
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : t.layers) j["layers"].push_back({{"name", l.name}, {"index", l.index}});
  j["fields"] = t.fields();
  if (t.has_token_text()) j["token_text"] = t.token_text;
  j["extra"] = t.meta.extra;
  // Token text may be a partial UTF-8 sequence (one byte-level token of a character): U+FFFD.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

LogitsDtype parse_logits_dtype(const std::string& name) {
  if (name == "f32") return LogitsDtype::F32;
  if (name == "f16") return LogitsDtype::F16;
  if (name == "bf16") return LogitsDtype::BF16;
  throw InputError(fmt::format("logits dtype '{}' is not one of: f32, f16, bf16", name));
}

void save_trace(const RouterTrace& trace, const std::filesystem::path& path, const TraceSaveOptions& options) {
  trace.validate(path.string());
  const int64_t L = trace.num_layers(), T = trace.num_positions, K = trace.top_k, E = trace.num_experts;

  SafetensorsWriter w;
  w.set_metadata({{kFormatKey, kFormatName},
                  {kVersionKey, std::to_string(kTraceFormatVersion)},
                  {kTraceKey, trace_header_json(trace)}});
  if (trace.has_token_ids()) w.add("token_ids", Dtype::I64, {T}, as_bytes(trace.token_ids));
  w.add("topk_ids", Dtype::I32, {L, T, K}, as_bytes(trace.topk_ids));
  if (trace.has_gate_weights()) w.add("gate_weights", Dtype::F32, {L, T, K}, as_bytes(trace.gate_weights));
  if (trace.has_router_logits()) {
    if (options.logits_dtype == LogitsDtype::F32) {
      w.add("router_logits", Dtype::F32, {L, T, E}, as_bytes(trace.router_logits));
    } else {
      const bool bf = options.logits_dtype == LogitsDtype::BF16;
      std::vector<uint16_t> half(trace.router_logits.size());
      for (size_t i = 0; i < half.size(); ++i)
        half[i] = bf ? float_to_bf16(trace.router_logits[i]) : float_to_f16(trace.router_logits[i]);
      w.add("router_logits", bf ? Dtype::BF16 : Dtype::F16, {L, T, E}, as_bytes(half));
    }
  }
  write_file_atomic(path, w.serialize());
}

RouterTrace load_trace(const std::filesystem::path& path) {
  const std::string file = path.string();
  SafetensorsFile st(path);
  const auto& md = st.metadata();
  auto meta_field = [&](const char* key) -> const std::string& {
    const auto it = md.find(key);
    if (it == md.end())
      throw InputError(fmt::format("{}: not a moeroute trace: __metadata__ has no '{}' (docs/trace-format.md)", file, key));
    return it->second;
  };
  if (meta_field(kFormatKey) != kFormatName)
    throw InputError(fmt::format("{}: __metadata__['{}'] is '{}', expected '{}'", file, kFormatKey,
                                 meta_field(kFormatKey), kFormatName));
  int version = 0;
  try {
    version = std::stoi(meta_field(kVersionKey));
  } catch (const std::logic_error&) {
    throw InputError(fmt::format("{}: format version '{}' is not a number", file, meta_field(kVersionKey)));
  }
  if (version < 1 || version > kTraceFormatVersion)
    throw UnsupportedError(fmt::format("{}: trace format version {} is not supported (this moeroute reads 1..{})",
                                       file, version, kTraceFormatVersion));

  RouterTrace t;
  try {
    const auto j = nlohmann::json::parse(meta_field(kTraceKey));
    t.meta.model_id = j.at("model_id").get<std::string>();
    t.meta.source = j.at("source").get<std::string>();
    t.meta.routing_rule = j.at("routing_rule").get<std::string>();
    t.num_experts = j.at("num_experts").get<int>();
    t.top_k = j.at("top_k").get<int>();
    t.num_positions = j.at("num_positions").get<int64_t>();
    t.prompt_length = j.at("prompt_length").get<int64_t>();
    for (const auto& l : j.at("layers")) t.layers.push_back({l.at("name").get<std::string>(), l.at("index").get<int>()});
    if (j.contains("token_text")) t.token_text = j["token_text"].get<std::vector<std::string>>();
    if (j.contains("extra")) t.meta.extra = j["extra"].get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: __metadata__['{}'] is invalid: {}", file, kTraceKey, e.what()));
  }
  if (t.layers.empty() || t.top_k <= 0 || t.num_experts <= 0 || t.num_positions < 0)
    throw InputError(fmt::format("{}: trace metadata has layers={}, top_k={}, num_experts={}, num_positions={}", file,
                                 t.layers.size(), t.top_k, t.num_experts, t.num_positions));

  const int64_t L = t.num_layers(), T = t.num_positions, K = t.top_k, E = t.num_experts;
  auto expect = [&](const char* name, std::initializer_list<Dtype> dtypes, std::vector<int64_t> shape) {
    const TensorInfo& info = st.info(name);
    bool ok = false;
    for (Dtype d : dtypes) ok = ok || info.dtype == d;
    if (!ok) throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected {}", file, name, dtype_name(info.dtype),
                                          dtype_name(*dtypes.begin())));
    if (info.shape != shape)
      throw InputError(fmt::format("{}: tensor '{}' has shape [{}], expected [{}] from the metadata", file, name,
                                   fmt::join(info.shape, ", "), fmt::join(shape, ", ")));
    return info.dtype;
  };

  expect("topk_ids", {Dtype::I32}, {L, T, K});
  t.topk_ids = copy_out<int32_t>(st.bytes("topk_ids"));
  if (st.contains("token_ids")) {
    expect("token_ids", {Dtype::I64}, {T});
    t.token_ids = copy_out<int64_t>(st.bytes("token_ids"));
  }
  if (st.contains("gate_weights")) {
    expect("gate_weights", {Dtype::F32}, {L, T, K});
    t.gate_weights = copy_out<float>(st.bytes("gate_weights"));
  }
  if (st.contains("router_logits")) {
    const Dtype d = expect("router_logits", {Dtype::F32, Dtype::F16, Dtype::BF16}, {L, T, E});
    if (d == Dtype::F32) {
      t.router_logits = copy_out<float>(st.bytes("router_logits"));
    } else {
      const auto half = copy_out<uint16_t>(st.bytes("router_logits"));
      t.router_logits.resize(half.size());
      for (size_t i = 0; i < half.size(); ++i)
        t.router_logits[i] = d == Dtype::BF16 ? bf16_to_float(half[i]) : f16_to_float(half[i]);
    }
  }
  t.validate(file);
  return t;
}

}  // namespace moeroute
