#include "moeroute/trace.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

std::string to_string(LogitsKind k) {
  switch (k) {
    case LogitsKind::Scores: return "scores";
    case LogitsKind::Probabilities: return "probabilities";
    default: return "raw";
  }
}

LogitsKind parse_logits_kind(const std::string& text, const std::string& what) {
  for (LogitsKind k : {LogitsKind::Raw, LogitsKind::Scores, LogitsKind::Probabilities})
    if (text == to_string(k)) return k;
  throw InputError(fmt::format("{}: '{}' is not one of: raw, scores, probabilities", what, text));
}

std::string to_string(ExpertIdSpace s) { return s == ExpertIdSpace::Physical ? "physical" : "logical"; }

std::vector<std::string> RouterTrace::fields() const {
  std::vector<std::string> out;
  if (has_sequences()) out.emplace_back("sequence_ids");
  if (!positions.empty()) out.emplace_back("positions");
  if (!segments.empty()) out.emplace_back("segments");
  if (has_token_ids()) out.emplace_back("token_ids");
  if (has_token_text()) out.emplace_back("token_text");
  out.emplace_back("topk_ids");
  if (has_gate_weights()) out.emplace_back("gate_weights");
  if (has_router_logits()) out.emplace_back("router_logits");
  if (!physical_to_logical.empty()) out.emplace_back("physical_to_logical");
  return out;
}

void RouterTrace::allocate(bool with_weights, bool with_logits) {
  const auto lt = static_cast<size_t>(num_layers()) * static_cast<size_t>(num_positions);
  topk_ids.assign(lt * static_cast<size_t>(top_k), 0);
  gate_weights.assign(with_weights ? lt * static_cast<size_t>(top_k) : 0, 0.0f);
  router_logits.assign(with_logits ? lt * static_cast<size_t>(num_experts) : 0, 0.0f);
}

namespace {
void check_size(const std::string& what, const char* field, size_t have, size_t want) {
  if (have != want)
    throw InputError(fmt::format("{}: field '{}' has {} values, expected {}", what, field, have, want));
}
}  // namespace

void RouterTrace::validate_rows(const std::string& what) const {
  const auto T = static_cast<size_t>(num_positions);
  if (!positions.empty()) check_size(what, "positions", positions.size(), T);
  if (!segments.empty()) check_size(what, "segments", segments.size(), T);
  for (size_t i = 0; i < segments.size(); ++i)
    if (segments[i] != kSegmentPrompt && segments[i] != kSegmentGenerated)
      throw InputError(fmt::format("{}: segments[{}] = {} is not 0 (prompt) or 1 (generated)", what, i, segments[i]));
  for (size_t i = 0; i < positions.size(); ++i)
    if (positions[i] < 0) throw InputError(fmt::format("{}: positions[{}] = {} is negative", what, i, positions[i]));
  if (!has_sequences()) {
    if (!sequences.empty()) throw InputError(fmt::format("{}: sequences are described but rows carry no sequence_ids", what));
    return;
  }
  check_size(what, "sequence_ids", sequence_ids.size(), T);
  if (prompt_length != 0)
    throw InputError(fmt::format("{}: prompt_length must be 0 when rows carry sequence_ids (segments say which rows "
                                 "are prompt)",
                                 what));
  if (sequences.empty()) return;
  std::set<int64_t> described;
  for (const auto& s : sequences)
    if (!described.insert(s.id).second) throw InputError(fmt::format("{}: sequence {} is described twice", what, s.id));
  for (size_t i = 0; i < T; ++i)
    if (!described.count(sequence_ids[i]))
      throw InputError(fmt::format("{}: row {} belongs to sequence {}, which 'sequences' does not describe", what, i,
                                   sequence_ids[i]));
}

void RouterTrace::validate_id_space(const std::string& what) const {
  if (id_space == ExpertIdSpace::Logical) {
    if (!physical_to_logical.empty() || num_logical_experts != 0)
      throw InputError(fmt::format("{}: physical_to_logical is only meaningful for physical expert ids", what));
    return;
  }
  if (physical_to_logical.empty()) return;  // physical ids without the map: analyses use them as they are
  if (num_logical_experts <= 0 || num_logical_experts > num_experts)
    throw InputError(fmt::format("{}: num_logical_experts must be in [1, {}] (physical slots), got {}", what,
                                 num_experts, num_logical_experts));
  check_size(what, "physical_to_logical", physical_to_logical.size(),
             static_cast<size_t>(num_layers()) * static_cast<size_t>(num_experts));
  for (size_t i = 0; i < physical_to_logical.size(); ++i)
    if (physical_to_logical[i] < 0 || physical_to_logical[i] >= num_logical_experts)
      throw InputError(fmt::format("{}: physical_to_logical[layer {}, slot {}] = {} is not a logical expert in [0, {})",
                                   what, i / static_cast<size_t>(num_experts), i % static_cast<size_t>(num_experts),
                                   physical_to_logical[i], num_logical_experts));
}

void RouterTrace::validate(const std::string& what) const {
  if (layers.empty()) throw InputError(fmt::format("{}: trace has no layers", what));
  if (num_experts <= 0) throw InputError(fmt::format("{}: num_experts must be > 0, got {}", what, num_experts));
  if (top_k <= 0 || top_k > num_experts)
    throw InputError(fmt::format("{}: top_k must be in [1, num_experts={}], got {}", what, num_experts, top_k));
  if (num_positions < 0) throw InputError(fmt::format("{}: negative num_positions", what));
  if (prompt_length < 0 || prompt_length > num_positions)
    throw InputError(fmt::format("{}: prompt_length {} outside [0, num_positions={}]", what, prompt_length,
                                 num_positions));
  std::set<std::string> names;
  for (const auto& l : layers)
    if (!names.insert(l.name).second) throw InputError(fmt::format("{}: layer '{}' appears twice", what, l.name));

  const auto lt = static_cast<size_t>(num_layers()) * static_cast<size_t>(num_positions);
  const auto tk = static_cast<size_t>(top_k);
  check_size(what, "topk_ids", topk_ids.size(), lt * tk);
  if (has_gate_weights()) check_size(what, "gate_weights", gate_weights.size(), lt * tk);
  if (has_router_logits())
    check_size(what, "router_logits", router_logits.size(), lt * static_cast<size_t>(num_experts));
  if (has_token_ids()) check_size(what, "token_ids", token_ids.size(), static_cast<size_t>(num_positions));
  if (has_token_text()) check_size(what, "token_text", token_text.size(), static_cast<size_t>(num_positions));

  validate_rows(what);
  validate_id_space(what);

  // A branch-free pass first (it vectorises: traces of millions of rows are validated on every
  // load and import chunk), the position only when something is out of range.
  bool bad = false;
  const auto E = static_cast<uint32_t>(num_experts);
  for (const int32_t id : topk_ids) bad |= static_cast<uint32_t>(id) >= E;
  if (!bad) return;
  for (size_t i = 0; i < topk_ids.size(); ++i) {
    if (topk_ids[i] < 0 || topk_ids[i] >= num_experts) {
      const size_t per_layer = static_cast<size_t>(num_positions) * tk;
      throw InputError(fmt::format("{}: topk_ids[layer {}, position {}] = {} is not an expert id in [0, {})", what,
                                   i / per_layer, (i % per_layer) / tk, topk_ids[i], num_experts));
    }
  }
}

void RouterTrace::sort_layers() {
  std::vector<size_t> order(layers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (layers[a].index != layers[b].index) return layers[a].index < layers[b].index;
    return natural_less(layers[a].name, layers[b].name);
  });
  auto permute = [&](auto& data) {
    if (data.empty()) return;
    const size_t row = data.size() / layers.size();
    auto copy = data;
    for (size_t i = 0; i < order.size(); ++i)
      std::copy_n(copy.begin() + static_cast<std::ptrdiff_t>(order[i] * row), row,
                  data.begin() + static_cast<std::ptrdiff_t>(i * row));
  };
  permute(topk_ids);
  permute(gate_weights);
  permute(router_logits);
  permute(physical_to_logical);
  std::vector<LayerInfo> sorted;
  sorted.reserve(layers.size());
  for (size_t i : order) sorted.push_back(layers[i]);
  layers = std::move(sorted);
}

int layer_index_from_name(const std::string& name) {
  int result = -1;
  size_t i = 0;
  while (i < name.size()) {
    size_t j = i;
    while (j < name.size() && name[j] != '.' && name[j] != '/') ++j;
    const bool digits = j > i && std::all_of(name.begin() + static_cast<std::ptrdiff_t>(i),
                                             name.begin() + static_cast<std::ptrdiff_t>(j),
                                             [](unsigned char c) { return std::isdigit(c) != 0; });
    if (digits && j - i < 10) result = std::stoi(name.substr(i, j - i));
    i = j + 1;
  }
  return result;
}

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t i0 = i, j0 = j;
      while (i0 < a.size() && a[i0] == '0') ++i0;
      while (j0 < b.size() && b[j0] == '0') ++j0;
      size_t i1 = i0, j1 = j0;
      while (i1 < a.size() && digit(a[i1])) ++i1;
      while (j1 < b.size() && digit(b[j1])) ++j1;
      if (i1 - i0 != j1 - j0) return i1 - i0 < j1 - j0;
      const int c = a.compare(i0, i1 - i0, b, j0, j1 - j0);
      if (c != 0) return c < 0;
      i = i1;
      j = j1;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace moeroute
