// The stats state file: a safetensors file whose tensors are the accumulator's integer arrays
// and whose metadata holds the rest (docs/metrics.md, "Stats state files").
#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analysis/stats/stats_state.h"
#include "io/json_input.h"
#include "io/moeroute_file.h"
#include "moeroute/error.h"
#include "moeroute/safetensors.h"

namespace moeroute {

namespace detail {

namespace {
constexpr const char* kFormatName = "moeroute.stats";
constexpr const char* kDocKey = "moeroute.stats";
constexpr int kVersion = 1;

}  // namespace

nlohmann::json options_json(const StatsOptions& o) {
  return {{"segment", to_string(o.segment)},
          {"capacity_group", o.capacity_group},
          {"capacity_factors", o.capacity_factors},
          {"position_window", o.position_window},
          {"entropy_bins", o.entropy_bins},
          {"rare_ratio", o.rare_ratio},
          {"dominant_ratio", o.dominant_ratio},
          {"tokens", o.tokens},
          {"token_layers", o.token_layers},
          {"max_token_table_bytes", o.max_token_table_bytes},
          {"top_n", o.top_n},
          {"min_token_count", o.min_token_count}};
}

namespace {

StatsOptions options_from(const JsonField& j) {
  StatsOptions o;
  o.segment = parse_segment_filter(j.at("segment").string());
  o.capacity_group = j.at("capacity_group").integer(0, INT64_MAX);
  o.capacity_factors.clear();
  for (const auto& f : j.at("capacity_factors").elements()) o.capacity_factors.push_back(f.number());
  o.position_window = j.at("position_window").integer(1, INT64_MAX);
  o.entropy_bins = static_cast<int>(j.at("entropy_bins").integer(1, 10000));
  o.rare_ratio = j.at("rare_ratio").number();
  o.dominant_ratio = j.at("dominant_ratio").number();
  o.tokens = j.at("tokens").boolean();
  o.token_layers.clear();
  for (const auto& l : j.at("token_layers").elements()) o.token_layers.push_back(static_cast<int>(l.integer(0, INT32_MAX)));
  o.max_token_table_bytes = j.at("max_token_table_bytes").unsigned_integer();
  o.top_n = static_cast<int>(j.at("top_n").integer(1, INT32_MAX));
  o.min_token_count = j.at("min_token_count").integer(0, INT64_MAX);
  return o;
}

// 128-bit values are stored as (high, low) int64 pairs.
std::vector<int64_t> split128(const std::vector<Int128>& v) {
  std::vector<int64_t> out;
  out.reserve(v.size() * 2);
  for (Int128 x : v) {
    out.push_back(static_cast<int64_t>(x >> 64));
    out.push_back(static_cast<int64_t>(static_cast<uint64_t>(x)));
  }
  return out;
}

Int128 join128(int64_t hi, int64_t lo) {
  return static_cast<Int128>((static_cast<UInt128>(static_cast<uint64_t>(hi)) << 64) | static_cast<uint64_t>(lo));
}

template <typename T>
std::string_view bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

class Writer {
 public:
  template <typename T>
  void add(const std::string& name, Dtype dt, const std::vector<T>& v, std::vector<int64_t> shape = {}) {
    if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
    w_.add(name, dt, std::move(shape), bytes_of(v));
  }
  SafetensorsWriter& raw() { return w_; }

 private:
  SafetensorsWriter w_;
};

class Reader {
 public:
  Reader(const SafetensorsFile& f, std::string what) : f_(f), what_(std::move(what)) {}
  template <typename T>
  std::vector<T> get(const std::string& name, Dtype dt, size_t expected) const {
    const TensorInfo& info = f_.info(name);
    if (info.dtype != dt || static_cast<size_t>(info.numel()) != expected)
      throw InputError(fmt::format("{}: stats tensor '{}' has {} {} values, expected {} {}", what_, name, info.numel(),
                                   dtype_name(info.dtype), expected, dtype_name(dt)));
    const std::string_view b = f_.bytes(name);
    std::vector<T> v(expected);
    if (!b.empty()) std::memcpy(v.data(), b.data(), b.size());
    return v;
  }
  std::vector<Int128> get128(const std::string& name, size_t expected) const {
    const auto v = get<int64_t>(name, Dtype::I64, expected * 2);
    std::vector<Int128> out(expected);
    for (size_t i = 0; i < expected; ++i) out[i] = join128(v[2 * i], v[2 * i + 1]);
    return out;
  }

 private:
  const SafetensorsFile& f_;
  std::string what_;
};

}  // namespace

std::string options_key(const StatsOptions& o) { return options_json(o).dump(); }

void StatsStateData::canonicalize() {
  // Sources and labels by name.
  std::vector<size_t> sorder(sources.size()), lorder(labels.size());
  std::iota(sorder.begin(), sorder.end(), size_t{0});
  std::iota(lorder.begin(), lorder.end(), size_t{0});
  std::sort(sorder.begin(), sorder.end(), [&](size_t a, size_t b) { return sources[a] < sources[b]; });
  std::sort(lorder.begin(), lorder.end(), [&](size_t a, size_t b) { return labels[a] < labels[b]; });
  std::vector<int> snew(sources.size()), lnew(labels.size());
  for (size_t i = 0; i < sorder.size(); ++i) snew[sorder[i]] = static_cast<int>(i);
  for (size_t i = 0; i < lorder.size(); ++i) lnew[lorder[i]] = static_cast<int>(i);
  std::vector<std::string> s2, l2;
  std::vector<LabelAcc> la2;
  for (size_t i : sorder) s2.push_back(sources[i]);
  for (size_t i : lorder) {
    l2.push_back(labels[i]);
    la2.push_back(std::move(label_acc[i]));
  }
  sources = std::move(s2);
  labels = std::move(l2);
  label_acc = std::move(la2);
  label_index.clear();
  for (size_t i = 0; i < labels.size(); ++i) label_index[labels[i]] = static_cast<int>(i);
  for (SampleAcc& s : samples) {
    s.source = snew[static_cast<size_t>(s.source)];
    s.label = lnew[static_cast<size_t>(s.label)];
  }
  std::sort(samples.begin(), samples.end(), [](const SampleAcc& a, const SampleAcc& b) {
    return std::make_pair(a.source, a.id) < std::make_pair(b.source, b.id);
  });
  sample_index.clear();
  for (size_t i = 0; i < samples.size(); ++i) sample_index[{samples[i].source, samples[i].id}] = static_cast<int>(i);
  std::set<GroupKey> c2;
  for (const GroupKey& g : closed) c2.insert({snew[static_cast<size_t>(std::get<0>(g))], std::get<1>(g), std::get<2>(g)});
  closed = std::move(c2);
}

std::vector<size_t> StatsStateData::vocab_order() const {
  std::vector<size_t> order(vocab_ids.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return vocab_ids[a] < vocab_ids[b]; });
  return order;
}

}  // namespace detail

std::string RoutingStats::serialize() {
  finish();
  State& d = *s_;
  d.canonicalize();
  using detail::split128;
  const size_t L = d.layers.size(), E = static_cast<size_t>(d.E), F = d.F(), S = d.samples.size();
  const size_t W = d.window_rows.size(), V = d.vocab_ids.size(), B = static_cast<size_t>(d.options.entropy_bins);
  nlohmann::ordered_json doc;
  doc["options"] = detail::options_json(d.options);
  doc["initialised"] = d.initialised;
  doc["model_id"] = d.model_id;
  doc["routing_rule"] = d.routing_rule;
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const LayerInfo& l : d.layers) layers.push_back({{"name", l.name}, {"index", l.index}});
  doc["layers"] = layers;
  doc["num_experts"] = d.E;
  doc["top_k"] = d.K;
  doc["logits_kind"] = to_string(d.logits_kind);
  doc["rows"] = d.rows;
  doc["logits_rows"] = d.logits_rows;
  doc["weight_rows"] = d.weight_rows;
  doc["token_rows"] = d.token_rows;
  doc["sources"] = d.sources;
  doc["labels"] = d.labels;
  doc["windows"] = W;
  doc["token_table"] = d.token_table;
  doc["token_note"] = d.token_note;
  doc["token_layers"] = d.token_layers;
  // The vocabulary in token-id order (rows are kept in order of first appearance in memory).
  const std::vector<size_t> vorder = d.vocab_order();
  std::vector<int64_t> vocab_ids, occurrences;
  std::vector<std::string> vocab_text;
  for (size_t v : vorder) {
    vocab_ids.push_back(d.vocab_ids[v]);
    occurrences.push_back(d.occurrences[v]);
    vocab_text.push_back(d.vocab_text[v]);
  }
  doc["vocab_text"] = vocab_text;

  detail::Writer w;
  auto entropy = [&](const char* prefix, const std::vector<detail::ValueAcc>& acc) {
    std::vector<int64_t> nmm, sums, hist;
    std::vector<detail::Int128> s128;
    for (const auto& a : acc) {
      nmm.insert(nmm.end(), {a.n, a.min, a.max});
      s128.push_back(a.sum);
      s128.push_back(a.sumsq);
      hist.insert(hist.end(), a.hist.begin(), a.hist.end());
    }
    w.add(std::string(prefix) + ".n_min_max", Dtype::I64, nmm, {static_cast<int64_t>(L), 3});
    w.add(std::string(prefix) + ".sum_sumsq", Dtype::I64, split128(s128), {static_cast<int64_t>(L), 2, 2});
    w.add(std::string(prefix) + ".histogram", Dtype::I64, hist, {static_cast<int64_t>(L), static_cast<int64_t>(B)});
  };
  const auto iL = static_cast<int64_t>(L), iE = static_cast<int64_t>(E);
  w.add("count", Dtype::I64, d.count, {iL, iE});
  w.add("top1", Dtype::I64, d.top1, {iL, iE});
  w.add("weight_sum", Dtype::I64, split128(d.wsum), {iL, iE, 2});
  entropy("entropy_full", d.ent_full);
  entropy("entropy_topk", d.ent_topk);
  w.add("dropped", Dtype::I64, d.dropped, {iL, static_cast<int64_t>(F)});
  w.add("assigned", Dtype::I64, d.assigned);
  w.add("coactivation", Dtype::I64, d.coact, {iL, iE, iE});
  w.add("cross_layer", Dtype::I64, d.cross, {static_cast<int64_t>(L > 0 ? L - 1 : 0), iE, iE});
  w.add("window_rows", Dtype::I64, d.window_rows);
  w.add("window_counts", Dtype::I64, d.window_counts, {static_cast<int64_t>(W), iL, iE});
  w.add("vocab_ids", Dtype::I64, vocab_ids);
  w.add("occurrences", Dtype::I64, occurrences);
  for (size_t i = 0; i < d.token_counts.size(); ++i) {
    std::vector<uint32_t> table(V * E);
    for (size_t r = 0; r < V; ++r)
      std::copy_n(d.token_counts[i].begin() + static_cast<std::ptrdiff_t>(vorder[r] * E), E,
                  table.begin() + static_cast<std::ptrdiff_t>(r * E));
    w.add(fmt::format("token_counts.{}", d.token_layers[i]), Dtype::U32, table, {static_cast<int64_t>(V), iE});
  }

  // Per label: integers in one [labels, 8] array, 128-bit sums in one [labels, 5, 2] array.
  std::vector<int64_t> lint, lcounts, ldropped;
  std::vector<detail::Int128> lsum;
  for (const auto& a : d.label_acc) {
    lint.insert(lint.end(), {a.samples, a.tokens, a.samples_with_loss, a.loss_weight, a.ef_n, a.et_n, a.assigned, 0});
    lsum.insert(lsum.end(), {a.loss_sum, a.loss_weighted_sum, a.ef_sum, a.et_sum, 0});
    lcounts.insert(lcounts.end(), a.counts.begin(), a.counts.end());
    ldropped.insert(ldropped.end(), a.dropped.begin(), a.dropped.end());
  }
  const auto nl = static_cast<int64_t>(d.labels.size());
  w.add("label.integers", Dtype::I64, lint, {nl, 8});
  w.add("label.sums", Dtype::I64, split128(lsum), {nl, 5, 2});
  w.add("label.counts", Dtype::I64, lcounts, {nl, iL, iE});
  w.add("label.dropped", Dtype::I64, ldropped, {nl, static_cast<int64_t>(F)});

  std::vector<int64_t> sint, sdropped;
  std::vector<double> sloss;
  std::vector<detail::Int128> ssum;
  for (const auto& s : d.samples) {
    sint.insert(sint.end(), {s.source, s.id, s.label, s.tokens, s.num_tokens, s.ef_n, s.et_n, s.assigned});
    sloss.push_back(s.loss);
    ssum.insert(ssum.end(), {s.ef_sum, s.et_sum});
    sdropped.insert(sdropped.end(), s.dropped.begin(), s.dropped.end());
  }
  const auto ns = static_cast<int64_t>(S);
  w.add("sample.integers", Dtype::I64, sint, {ns, 8});
  w.add("sample.loss", Dtype::F64, sloss, {ns});
  w.add("sample.sums", Dtype::I64, split128(ssum), {ns, 2, 2});
  w.add("sample.dropped", Dtype::I64, sdropped, {ns, static_cast<int64_t>(F)});
  std::vector<int64_t> groups;
  for (const auto& g : d.closed) groups.insert(groups.end(), {std::get<0>(g), std::get<1>(g), std::get<2>(g)});
  w.add("closed_groups", Dtype::I64, groups, {static_cast<int64_t>(d.closed.size()), 3});

  w.raw().set_metadata({{detail::kFormatKey, detail::kFormatName},
                        {detail::kFormatVersionKey, std::to_string(detail::kVersion)},
                        {detail::kDocKey, doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)}});
  return w.raw().serialize();
}

bool RoutingStats::is_state_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return false;
  try {
    const SafetensorsFile f(file);
    const auto it = f.metadata().find(detail::kFormatKey);
    return it != f.metadata().end() && it->second == detail::kFormatName;
  } catch (const InputError&) {
    return false;
  }
}

RoutingStats RoutingStats::load(const std::filesystem::path& file) {
  const std::string what = file.string();
  const SafetensorsFile f(file);
  const auto& md = f.metadata();
  auto meta = [&](const char* key) -> const std::string& {
    const auto it = md.find(key);
    if (it == md.end()) throw InputError(fmt::format("{}: not a moeroute stats state: no '{}' metadata", what, key));
    return it->second;
  };
  if (meta(detail::kFormatKey) != detail::kFormatName)
    throw InputError(fmt::format("{}: not a moeroute stats state ('{}' is '{}')", what, detail::kFormatKey, meta(detail::kFormatKey)));
  if (meta(detail::kFormatVersionKey) != std::to_string(detail::kVersion))
    throw UnsupportedError(fmt::format("{}: stats state version {} is not supported (this moeroute reads {})", what,
                                       meta(detail::kFormatVersionKey), detail::kVersion));
  const detail::JsonField doc = detail::parse_json(meta(detail::kDocKey), what + ": __metadata__['moeroute.stats']");
  RoutingStats out(detail::options_from(doc.at("options")));
  State& d = *out.s_;
  d.initialised = doc.at("initialised").boolean();
  d.model_id = doc.at("model_id").string();
  d.routing_rule = doc.at("routing_rule").string();
  for (const auto& l : doc.at("layers").elements())
    d.layers.push_back({l.at("name").string(), static_cast<int>(l.at("index").integer(INT32_MIN, INT32_MAX))});
  d.E = static_cast<int>(doc.at("num_experts").integer(0, INT32_MAX));
  d.K = static_cast<int>(doc.at("top_k").integer(0, INT32_MAX));
  d.logits_kind = parse_logits_kind(doc.at("logits_kind").string(), what);
  d.rows = doc.at("rows").integer(0, INT64_MAX);
  d.logits_rows = doc.at("logits_rows").integer(0, INT64_MAX);
  d.weight_rows = doc.at("weight_rows").integer(0, INT64_MAX);
  d.token_rows = doc.at("token_rows").integer(0, INT64_MAX);
  d.sources = doc.at("sources").strings();
  d.labels = doc.at("labels").strings();
  const auto W = static_cast<size_t>(doc.at("windows").integer(0, INT32_MAX));
  d.token_table = doc.at("token_table").boolean();
  d.token_note = doc.at("token_note").string();
  for (const auto& l : doc.at("token_layers").elements()) d.token_layers.push_back(static_cast<int>(l.integer(0, INT32_MAX)));
  d.vocab_text = doc.at("vocab_text").strings();

  const detail::Reader r(f, what);
  const size_t L = d.layers.size(), E = static_cast<size_t>(d.E), F = d.F(), V = d.vocab_text.size();
  const size_t B = static_cast<size_t>(d.options.entropy_bins), LE = L * E, NL = d.labels.size();
  d.count = r.get<int64_t>("count", Dtype::I64, LE);
  d.top1 = r.get<int64_t>("top1", Dtype::I64, LE);
  d.wsum = r.get128("weight_sum", LE);
  auto entropy = [&](const char* prefix, std::vector<detail::ValueAcc>& acc) {
    const auto nmm = r.get<int64_t>(std::string(prefix) + ".n_min_max", Dtype::I64, L * 3);
    const auto sums = r.get128(std::string(prefix) + ".sum_sumsq", L * 2);
    const auto hist = r.get<int64_t>(std::string(prefix) + ".histogram", Dtype::I64, L * B);
    acc.assign(L, {});
    for (size_t l = 0; l < L; ++l) {
      acc[l].n = nmm[3 * l];
      acc[l].min = nmm[3 * l + 1];
      acc[l].max = nmm[3 * l + 2];
      acc[l].sum = sums[2 * l];
      acc[l].sumsq = sums[2 * l + 1];
      acc[l].hist.assign(hist.begin() + static_cast<std::ptrdiff_t>(l * B), hist.begin() + static_cast<std::ptrdiff_t>((l + 1) * B));
    }
  };
  entropy("entropy_full", d.ent_full);
  entropy("entropy_topk", d.ent_topk);
  d.dropped = r.get<int64_t>("dropped", Dtype::I64, L * F);
  d.assigned = r.get<int64_t>("assigned", Dtype::I64, L);
  d.coact = r.get<int64_t>("coactivation", Dtype::I64, LE * E);
  d.cross = r.get<int64_t>("cross_layer", Dtype::I64, (L > 0 ? L - 1 : 0) * E * E);
  d.window_rows = r.get<int64_t>("window_rows", Dtype::I64, W);
  d.window_counts = r.get<int64_t>("window_counts", Dtype::I64, W * LE);
  d.vocab_ids = r.get<int64_t>("vocab_ids", Dtype::I64, V);
  d.occurrences = r.get<int64_t>("occurrences", Dtype::I64, V);
  for (size_t v = 0; v < V; ++v) d.vocab[d.vocab_ids[v]] = static_cast<int32_t>(v);
  for (int l : d.token_layers)
    d.token_counts.push_back(r.get<uint32_t>(fmt::format("token_counts.{}", l), Dtype::U32, d.token_table ? V * E : 0));
  if (!d.token_table) d.token_counts.clear();

  const auto lint = r.get<int64_t>("label.integers", Dtype::I64, NL * 8);
  const auto lsum = r.get128("label.sums", NL * 5);
  const auto lcounts = r.get<int64_t>("label.counts", Dtype::I64, NL * LE);
  const auto ldropped = r.get<int64_t>("label.dropped", Dtype::I64, NL * F);
  for (size_t i = 0; i < NL; ++i) {
    detail::LabelAcc a;
    const int64_t* x = lint.data() + 8 * i;
    a.samples = x[0], a.tokens = x[1], a.samples_with_loss = x[2], a.loss_weight = x[3], a.ef_n = x[4], a.et_n = x[5];
    a.assigned = x[6];
    a.loss_sum = lsum[5 * i], a.loss_weighted_sum = lsum[5 * i + 1], a.ef_sum = lsum[5 * i + 2], a.et_sum = lsum[5 * i + 3];
    a.counts.assign(lcounts.begin() + static_cast<std::ptrdiff_t>(i * LE), lcounts.begin() + static_cast<std::ptrdiff_t>((i + 1) * LE));
    a.dropped.assign(ldropped.begin() + static_cast<std::ptrdiff_t>(i * F), ldropped.begin() + static_cast<std::ptrdiff_t>((i + 1) * F));
    d.label_index[d.labels[i]] = static_cast<int>(i);
    d.label_acc.push_back(std::move(a));
  }
  const size_t S = static_cast<size_t>(f.info("sample.loss").numel());
  const auto sint = r.get<int64_t>("sample.integers", Dtype::I64, S * 8);
  const auto sloss = r.get<double>("sample.loss", Dtype::F64, S);
  const auto ssum = r.get128("sample.sums", S * 2);
  const auto sdropped = r.get<int64_t>("sample.dropped", Dtype::I64, S * F);
  for (size_t i = 0; i < S; ++i) {
    detail::SampleAcc s;
    const int64_t* x = sint.data() + 8 * i;
    if (x[0] < 0 || x[0] >= static_cast<int64_t>(d.sources.size()) || x[2] < 0 || x[2] >= static_cast<int64_t>(NL))
      throw InputError(fmt::format("{}: sample {} refers to a source or label that does not exist", what, i));
    s.source = static_cast<int>(x[0]), s.id = x[1], s.label = static_cast<int>(x[2]), s.tokens = x[3];
    s.num_tokens = x[4], s.ef_n = x[5], s.et_n = x[6], s.assigned = x[7];
    s.loss = sloss[i];
    s.ef_sum = ssum[2 * i], s.et_sum = ssum[2 * i + 1];
    s.dropped.assign(sdropped.begin() + static_cast<std::ptrdiff_t>(i * F), sdropped.begin() + static_cast<std::ptrdiff_t>((i + 1) * F));
    d.sample_index[{s.source, s.id}] = static_cast<int>(i);
    d.samples.push_back(std::move(s));
  }
  const size_t G = static_cast<size_t>(f.info("closed_groups").numel()) / 3;
  const auto groups = r.get<int64_t>("closed_groups", Dtype::I64, G * 3);
  for (size_t i = 0; i < G; ++i) d.closed.insert({static_cast<int>(groups[3 * i]), groups[3 * i + 1], groups[3 * i + 2]});
  return out;
}

}  // namespace moeroute
