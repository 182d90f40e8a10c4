#include "moeroute/trace_io.h"

#include <cmath>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "moeroute/atomic_file.h"
#include "io/json_input.h"
#include "io/moeroute_file.h"
#include "io/tensor_bytes.h"
#include "moeroute/error.h"
#include "moeroute/safetensors.h"

namespace moeroute {

namespace {

constexpr detail::MoerouteFileKind kTraceFile{"moeroute.trace", "trace", "docs/trace-format.md", kTraceFormatVersion};

using detail::as_bytes;
using detail::copy_out;

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
  if (t.logits_kind != LogitsKind::Raw) j["logits_kind"] = to_string(t.logits_kind);
  if (t.id_space != ExpertIdSpace::Logical) {
    j["id_space"] = to_string(t.id_space);
    if (t.num_logical_experts > 0) j["num_logical_experts"] = t.num_logical_experts;
  }
  if (!t.sequences.empty()) {
    auto& seqs = j["sequences"] = nlohmann::ordered_json::array();
    for (const auto& q : t.sequences)
      seqs.push_back({{"id", q.id},
                      {"label", q.label},
                      {"loss", std::isnan(q.loss) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(q.loss)},
                      {"num_tokens", q.num_tokens}});
  }
  j["extra"] = t.meta.extra;
  // Token text may be a partial UTF-8 sequence (one byte-level token of a character): U+FFFD.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// Version 1 readers know one sequence of raw logits in logical ids; anything else is version 2, so
// they refuse such a file instead of misreading it.
int format_version_for(const RouterTrace& t) {
  const bool v2 = t.has_sequences() || !t.positions.empty() || !t.segments.empty() || !t.sequences.empty() ||
                  t.logits_kind != LogitsKind::Raw || t.id_space != ExpertIdSpace::Logical;
  return v2 ? 2 : 1;
}

}  // namespace

LogitsDtype parse_logits_dtype(const std::string& name) {
  if (name == "f32") return LogitsDtype::F32;
  if (name == "f16") return LogitsDtype::F16;
  if (name == "bf16") return LogitsDtype::BF16;
  throw InputError(fmt::format("logits dtype '{}' is not one of: f32, f16, bf16", name));
}

std::string to_string(LogitsDtype d) {
  switch (d) {
    case LogitsDtype::F16: return "f16";
    case LogitsDtype::BF16: return "bf16";
    case LogitsDtype::F32: break;
  }
  return "f32";
}

void round_logits(RouterTrace& trace, LogitsDtype dtype) {
  if (dtype == LogitsDtype::F32) return;
  for (float& x : trace.router_logits)
    x = dtype == LogitsDtype::BF16 ? bf16_to_float(float_to_bf16(x)) : f16_to_float(float_to_f16(x));
}

void save_trace(const RouterTrace& trace, const std::filesystem::path& path, const TraceSaveOptions& options) {
  write_file_atomic(path, serialize_trace(trace, options, path.string()));
}

std::string serialize_trace(const RouterTrace& trace, const TraceSaveOptions& options, const std::string& what) {
  trace.validate(what);
  const int64_t L = trace.num_layers(), T = trace.num_positions, K = trace.top_k, E = trace.num_experts;

  SafetensorsWriter w;
  w.set_metadata({{detail::kFormatKey, std::string(kTraceFile.format)},
                  {detail::kFormatVersionKey, std::to_string(format_version_for(trace))},
                  {std::string(kTraceFile.format), trace_header_json(trace)}});
  if (trace.has_sequences()) w.add("sequence_ids", Dtype::I64, {T}, as_bytes(trace.sequence_ids));
  if (!trace.positions.empty()) w.add("positions", Dtype::I64, {T}, as_bytes(trace.positions));
  if (!trace.segments.empty()) w.add("segments", Dtype::U8, {T}, as_bytes(trace.segments));
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
  if (!trace.physical_to_logical.empty())
    w.add("physical_to_logical", Dtype::I32, {L, E}, as_bytes(trace.physical_to_logical));
  return w.serialize();
}

RouterTrace load_trace(const std::filesystem::path& path) {
  const std::string file = path.string();
  SafetensorsFile st(path);
  const detail::MoerouteHeader header = detail::read_moeroute_header(st, kTraceFile);

  RouterTrace t;
  {
    const auto& j = header.description;
    j.expect_object();
    t.meta.model_id = j.at("model_id").string();
    t.meta.source = j.at("source").string();
    t.meta.routing_rule = j.at("routing_rule").string();
    t.num_experts = static_cast<int>(j.at("num_experts").integer(1, INT32_MAX));
    t.top_k = static_cast<int>(j.at("top_k").integer(1, INT32_MAX));
    t.num_positions = j.at("num_positions").integer(0, INT64_MAX);
    t.prompt_length = j.at("prompt_length").integer(0, INT64_MAX);
    for (const auto& l : j.at("layers").elements())
      t.layers.push_back({l.at("name").string(), static_cast<int>(l.at("index").integer(INT32_MIN, INT32_MAX))});
    if (j.has("token_text")) t.token_text = j.at("token_text").strings();
    if (j.has("logits_kind")) {
      const auto k = j.at("logits_kind");
      t.logits_kind = parse_logits_kind(k.one_of({"raw", "scores", "probabilities"}));
    }
    if (j.has("id_space")) {
      t.id_space = j.at("id_space").one_of({"logical", "physical"}) == "physical" ? ExpertIdSpace::Physical
                                                                               : ExpertIdSpace::Logical;
      t.num_logical_experts = static_cast<int>(j.integer_or("num_logical_experts", 0));
    }
    if (j.has("sequences"))
      for (const auto& q : j.at("sequences").elements())
        t.sequences.push_back({q.at("id").integer(), q.string_or("label", ""),
                               q.has("loss") ? q.at("loss").number() : std::nan(""), q.integer_or("num_tokens", 0)});
    if (j.has("extra")) {
      const auto extra = j.at("extra");
      for (const std::string& key : extra.keys()) t.meta.extra[key] = extra.at(key).string();
    }
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
  auto per_row = [&](const char* name, Dtype dtype, auto& out) {
    if (!st.contains(name)) return;
    expect(name, {dtype}, {T});
    out = copy_out<typename std::decay_t<decltype(out)>::value_type>(st.bytes(name));
  };
  per_row("sequence_ids", Dtype::I64, t.sequence_ids);
  per_row("positions", Dtype::I64, t.positions);
  per_row("segments", Dtype::U8, t.segments);
  per_row("token_ids", Dtype::I64, t.token_ids);
  if (st.contains("physical_to_logical")) {
    expect("physical_to_logical", {Dtype::I32}, {L, E});
    t.physical_to_logical = copy_out<int32_t>(st.bytes("physical_to_logical"));
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
