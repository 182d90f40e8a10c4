// RoutingStats: accumulating chunks, capacity groups, merging (docs/metrics.md, "Routing
// statistics"). The report is derived in stats_report.cpp, the state file in stats_serialize.cpp.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "analysis/stats/entropy_kernel.h"
#include "analysis/stats/pair_stage.h"
#include "analysis/stats/stats_state.h"
#include "moeroute/error.h"

namespace moeroute {

using detail::Int128;

std::string to_string(SegmentFilter s) {
  switch (s) {
    case SegmentFilter::Prompt: return "prompt";
    case SegmentFilter::Generated: return "generated";
    default: return "all";
  }
}

SegmentFilter parse_segment_filter(const std::string& name) {
  for (SegmentFilter s : {SegmentFilter::All, SegmentFilter::Prompt, SegmentFilter::Generated})
    if (name == to_string(s)) return s;
  throw InputError(fmt::format("segment '{}' is not one of: all, prompt, generated", name));
}

namespace detail {

void ValueAcc::merge(const ValueAcc& o) {
  n += o.n;
  sum += o.sum;
  sumsq += o.sumsq;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  for (size_t i = 0; i < hist.size(); ++i) hist[i] += o.hist[i];
}

void LabelAcc::merge(const LabelAcc& o) {
  samples += o.samples;
  tokens += o.tokens;
  samples_with_loss += o.samples_with_loss;
  loss_weight += o.loss_weight;
  loss_sum += o.loss_sum;
  loss_weighted_sum += o.loss_weighted_sum;
  ef_sum += o.ef_sum;
  et_sum += o.et_sum;
  ef_n += o.ef_n;
  et_n += o.et_n;
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  for (size_t i = 0; i < dropped.size(); ++i) dropped[i] += o.dropped[i];
  assigned += o.assigned;
}

}  // namespace detail

int RoutingStats::State::source_index(const std::string& name) {
  const auto it = std::find(sources.begin(), sources.end(), name);
  if (it != sources.end()) return static_cast<int>(it - sources.begin());
  sources.push_back(name);
  return static_cast<int>(sources.size() - 1);
}

int RoutingStats::State::label_of(const std::string& name) {
  const auto it = label_index.find(name);
  if (it != label_index.end()) return it->second;
  const int i = static_cast<int>(labels.size());
  labels.push_back(name);
  label_index[name] = i;
  label_acc.emplace_back();
  label_acc.back().counts.assign(LE(), 0);
  label_acc.back().dropped.assign(F(), 0);
  return i;
}

int RoutingStats::State::vocab_row(int64_t token, const std::string* text) {
  const auto it = vocab.find(token);
  if (it != vocab.end()) return it->second;
  const int row = static_cast<int>(vocab_ids.size());
  vocab[token] = row;
  vocab_ids.push_back(token);
  vocab_text.push_back(text ? *text : std::string());
  occurrences.push_back(0);
  return row;
}

void RoutingStats::State::grow_token_tables() {
  for (auto& t : token_counts) t.resize(vocab_ids.size() * static_cast<size_t>(E), 0);
}

void RoutingStats::State::check_token_table_size() {
  const uint64_t bytes = static_cast<uint64_t>(token_layers.size()) * vocab_ids.size() * static_cast<uint64_t>(E) * 4;
  if (token_table && bytes > options.max_token_table_bytes) drop_token_table(fmt::format(
      "the token → expert table would exceed {} bytes ({} tokens × {} layers × {} experts); choose fewer layers "
      "with --token-layers or raise --max-token-table-mb",
      options.max_token_table_bytes, vocab_ids.size(), token_layers.size(), E));
}

void RoutingStats::State::drop_token_table(const std::string& why) {
  token_table = false;
  token_note = why;
  vocab.clear();
  vocab_ids.clear();
  vocab_text.clear();
  occurrences.clear();
  token_counts.clear();
}

void RoutingStats::State::init(const RouterTrace& t, int experts) {
  initialised = true;
  model_id = t.meta.model_id;
  routing_rule = t.meta.routing_rule;
  layers = t.layers;
  E = experts;
  K = t.top_k;
  logits_kind = t.logits_kind;
  const size_t L = layers.size(), le = LE();
  count.assign(le, 0);
  top1.assign(le, 0);
  wsum.assign(le, 0);
  ent_full.assign(L, {});
  ent_topk.assign(L, {});
  for (auto& v : ent_full) v.hist.assign(static_cast<size_t>(options.entropy_bins), 0);
  for (auto& v : ent_topk) v.hist.assign(static_cast<size_t>(options.entropy_bins), 0);
  dropped.assign(L * F(), 0);
  assigned.assign(L, 0);
  coact.assign(le * static_cast<size_t>(E), 0);
  cross.assign((L > 0 ? L - 1 : 0) * static_cast<size_t>(E) * static_cast<size_t>(E), 0);
  token_table = options.tokens;
  token_layers.clear();
  if (options.token_layers.empty()) {
    for (size_t l = 0; l < L; ++l) token_layers.push_back(static_cast<int>(l));
  } else {
    for (int l : options.token_layers) {
      if (l < 0 || l >= static_cast<int>(L))
        throw InputError(fmt::format("token layer {} is not a layer position in [0, {})", l, L));
      token_layers.push_back(l);
    }
    std::sort(token_layers.begin(), token_layers.end());
    token_layers.erase(std::unique(token_layers.begin(), token_layers.end()), token_layers.end());
  }
  token_counts.assign(token_table ? token_layers.size() : 0, {});
  if (!options.tokens) token_note = "the token → expert table was not requested";
}

void RoutingStats::State::check_compatible(const RouterTrace& t, int experts, const std::string& what) const {
  auto fail = [&](const std::string& why) {
    throw InputError(fmt::format("{}: traces of different models or shapes cannot be combined in one statistic: {}",
                                 what, why));
  };
  if (t.meta.model_id != model_id) fail(fmt::format("model '{}' vs '{}' before", t.meta.model_id, model_id));
  if (t.layers.size() != layers.size()) fail(fmt::format("{} vs {} layers", t.layers.size(), layers.size()));
  for (size_t l = 0; l < layers.size(); ++l)
    if (t.layers[l].name != layers[l].name) fail(fmt::format("layer {} is '{}' vs '{}'", l, t.layers[l].name, layers[l].name));
  if (experts != E || t.top_k != K) fail(fmt::format("{} experts top-{} vs {} experts top-{}", experts, t.top_k, E, K));
  if (t.has_router_logits() && logits_rows > 0 && t.logits_kind != logits_kind)
    fail(fmt::format("logits kind {} vs {}", to_string(t.logits_kind), to_string(logits_kind)));
}


void RoutingStats::State::close(const detail::GroupKey& key, const detail::GroupAcc& g) {
  const size_t L = layers.size(), nf = F();
  detail::SampleAcc& s = samples[static_cast<size_t>(g.sample)];
  detail::LabelAcc& lab = label_acc[static_cast<size_t>(s.label)];
  for (size_t f = 0; f < nf; ++f) {
    const double cap = std::ceil(options.capacity_factors[f] * K * static_cast<double>(g.rows) / E);
    int64_t total = 0;
    for (size_t l = 0; l < L; ++l) {
      int64_t d = 0;
      const uint32_t* c = g.counts.data() + l * static_cast<size_t>(E);
      for (int e = 0; e < E; ++e) d += std::max<int64_t>(0, static_cast<int64_t>(c[e]) - static_cast<int64_t>(cap));
      dropped[l * nf + f] += d;
      total += d;
    }
    s.dropped[f] += total;
    lab.dropped[f] += total;
  }
  const int64_t a = g.rows * K;
  for (size_t l = 0; l < L; ++l) assigned[l] += a;
  s.assigned += a * static_cast<int64_t>(L);
  lab.assigned += a * static_cast<int64_t>(L);
  closed.insert(key);
}

void RoutingStats::State::close_all() {
  for (const auto& [key, g] : open) close(key, g);
  open.clear();
}

namespace {

// Expert ids of `t` in logical numbering (physical slots mapped through physical_to_logical).
std::vector<int32_t> logical_ids(const RouterTrace& t) {
  std::vector<int32_t> ids(t.topk_ids.size());
  const size_t per_layer = static_cast<size_t>(t.num_positions) * static_cast<size_t>(t.top_k);
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t l = per_layer ? i / per_layer : 0;
    ids[i] = t.physical_to_logical[l * static_cast<size_t>(t.num_experts) + static_cast<size_t>(t.topk_ids[i])];
  }
  return ids;
}

int entropy_bin(double h, double hmax, int bins) {
  if (!(hmax > 0)) return 0;
  const int b = static_cast<int>(h / hmax * bins);
  return std::clamp(b, 0, bins - 1);
}

}  // namespace

RoutingStats::RoutingStats(StatsOptions options) : s_(std::make_unique<State>()) {
  if (options.capacity_group < 0) throw InputError("capacity group must be ≥ 0 tokens (0 = whole sequences)");
  if (options.position_window < 1) throw InputError("position window must be ≥ 1 token");
  if (options.entropy_bins < 1 || options.entropy_bins > 10000) throw InputError("entropy bins must be in [1, 10000]");
  if (options.top_n < 1) throw InputError("top-n must be ≥ 1");
  for (double f : options.capacity_factors)
    if (!(f > 0) || !std::isfinite(f)) throw InputError(fmt::format("capacity factor {} must be a positive number", f));
  s_->options = std::move(options);
}

RoutingStats::~RoutingStats() = default;
RoutingStats::RoutingStats(RoutingStats&&) noexcept = default;
RoutingStats& RoutingStats::operator=(RoutingStats&&) noexcept = default;

bool RoutingStats::empty() const { return !s_->initialised; }
const StatsOptions& RoutingStats::options() const { return s_->options; }
void RoutingStats::finish() { s_->close_all(); }

void RoutingStats::add(const RouterTrace& t, const std::string& source) {
  State& d = *s_;
  const std::string what = source.empty() ? "trace" : source;
  t.validate(what);
  std::vector<int32_t> mapped;
  const int32_t* ids = t.topk_ids.data();
  int experts = t.num_experts;
  if (t.id_space == ExpertIdSpace::Physical) {
    if (t.physical_to_logical.empty())
      throw UnsupportedError(fmt::format("{}: expert ids are physical slots without a physical_to_logical map; "
                                         "statistics need logical experts",
                                         what));
    mapped = logical_ids(t);
    ids = mapped.data();
    experts = t.num_logical_experts;
  }
  if (!d.initialised) d.init(t, experts);
  else d.check_compatible(t, experts, what);

  const int src = d.source_index(source);
  const int L = static_cast<int>(d.layers.size()), E = d.E, K = d.K;
  const auto T = static_cast<size_t>(t.num_positions);
  const size_t nf = d.F();

  // Rows counted, and per row its sample, capacity group, window and vocabulary row.
  std::vector<int64_t> rows;
  rows.reserve(T);
  for (size_t r = 0; r < T; ++r) {
    const bool prompt = t.is_prompt(static_cast<int64_t>(r));
    if (d.options.segment == SegmentFilter::Prompt && !prompt) continue;
    if (d.options.segment == SegmentFilter::Generated && prompt) continue;
    rows.push_back(static_cast<int64_t>(r));
  }
  // A group of an earlier chunk that this chunk does not continue is complete.
  std::set<detail::GroupKey> here;
  for (int64_t r : rows) {
    const int64_t pos = t.position_of(r);
    here.insert({src, t.sequence_of(r), d.options.capacity_group > 0 ? pos / d.options.capacity_group : 0});
  }
  for (auto it = d.open.begin(); it != d.open.end();) {
    if (here.count(it->first)) {
      ++it;
      continue;
    }
    d.close(it->first, it->second);
    it = d.open.erase(it);
  }

  std::map<int64_t, const SequenceInfo*> info;
  for (const SequenceInfo& q : t.sequences) info[q.id] = &q;
  const size_t n = rows.size();
  std::vector<int> row_sample(n), row_label(n), row_vocab(n, -1);
  std::vector<detail::GroupAcc*> row_group(n);
  std::vector<size_t> row_window(n);
  const bool tokens = d.token_table && t.has_token_ids();
  for (size_t i = 0; i < n; ++i) {
    const int64_t r = rows[i];
    const int64_t seq = t.sequence_of(r);
    auto [sit, fresh] = d.sample_index.try_emplace({src, seq}, static_cast<int>(d.samples.size()));
    if (fresh) {
      detail::SampleAcc s;
      s.source = src;
      s.id = seq;
      const auto q = info.find(seq);
      const SequenceInfo* si = q == info.end() ? nullptr : q->second;
      s.label = d.label_of(si ? si->label : "");
      s.loss = si ? si->loss : NAN;
      s.num_tokens = si ? si->num_tokens : 0;  // unknown without a description (loss is then unknown too)
      s.dropped.assign(nf, 0);
      detail::LabelAcc& lab = d.label_acc[static_cast<size_t>(s.label)];
      ++lab.samples;
      if (std::isfinite(s.loss)) {
        if (std::fabs(s.loss) >= detail::kFixedLimit || std::fabs(s.loss * static_cast<double>(s.num_tokens - 1)) >= detail::kFixedLimit)
          throw InputError(fmt::format("{}: sequence {} has loss {} beyond what statistics sum exactly", what, seq, s.loss));
        ++lab.samples_with_loss;
        lab.loss_sum += detail::to_fixed(s.loss);
        const int64_t predicted = std::max<int64_t>(s.num_tokens - 1, 0);
        lab.loss_weighted_sum += detail::to_fixed(s.loss * static_cast<double>(predicted));
        lab.loss_weight += predicted;
      }
      d.samples.push_back(std::move(s));
    }
    row_sample[i] = sit->second;
    detail::SampleAcc& s = d.samples[static_cast<size_t>(sit->second)];
    row_label[i] = s.label;
    const int64_t pos = t.position_of(r);
    const detail::GroupKey key{src, seq, d.options.capacity_group > 0 ? pos / d.options.capacity_group : 0};
    auto git = d.open.find(key);
    if (git == d.open.end()) {
      if (d.closed.count(key))
        throw InputError(fmt::format("{}: sequence {} appears again after other sequences (rows of a sequence must "
                                     "be contiguous in the input: in one chunk, or continued by the next)",
                                     what, seq));
      git = d.open.emplace(key, detail::GroupAcc{}).first;
      git->second.sample = sit->second;
      git->second.counts.assign(d.LE(), 0);
    }
    row_group[i] = &git->second;
    ++git->second.rows;
    ++s.tokens;
    ++d.label_acc[static_cast<size_t>(s.label)].tokens;
    const auto w = static_cast<size_t>(pos / d.options.position_window);
    if (w >= d.window_rows.size()) {
      d.window_rows.resize(w + 1, 0);
      d.window_counts.resize((w + 1) * d.LE(), 0);
    }
    row_window[i] = w;
    ++d.window_rows[w];
    if (tokens) {
      const int v = d.vocab_row(t.token_ids[static_cast<size_t>(r)], t.has_token_text() ? &t.token_text[static_cast<size_t>(r)] : nullptr);
      row_vocab[i] = v;
      ++d.occurrences[static_cast<size_t>(v)];
    }
  }

  // The rows by vocabulary row (a counting sort), for the token → expert counts below.
  std::vector<size_t> by_vocab;
  if (tokens) {
    std::vector<size_t> start(d.vocab_ids.size() + 1, 0);
    for (int v : row_vocab) ++start[static_cast<size_t>(v) + 1];
    for (size_t v = 1; v < start.size(); ++v) start[v] += start[v - 1];
    by_vocab.resize(n);
    for (size_t i = 0; i < n; ++i) by_vocab[start[static_cast<size_t>(row_vocab[i])]++] = i;
  }
  if (tokens) d.grow_token_tables();
  const bool weights = t.has_gate_weights();
  const bool full = t.has_router_logits() && t.id_space == ExpertIdSpace::Logical && t.logits_kind != LogitsKind::Scores;
  const bool probabilities = t.logits_kind == LogitsKind::Probabilities;
  const double hmax_full = std::log2(static_cast<double>(E)), hmax_topk = std::log2(static_cast<double>(K));
  const int bins = d.options.entropy_bins;
  std::vector<int> token_slot(static_cast<size_t>(L), -1);
  if (tokens)
    for (size_t i = 0; i < d.token_layers.size(); ++i) token_slot[static_cast<size_t>(d.token_layers[i])] = static_cast<int>(i);

  // One per-token entropy into the layer's summary and its sample's and dataset's sums.
  auto record = [bins](double h, detail::ValueAcc& layer, double hmax, Int128& sample_sum, int64_t& sample_n,
                       Int128& label_sum, int64_t& label_n) {
    const int64_t q = detail::to_fixed(h);
    layer.add(q, detail::to_fixed(h * h), entropy_bin(h, hmax, bins));
    sample_sum += q;
    ++sample_n;
    label_sum += q;
    ++label_n;
  };
  // Co-activation (a ≤ b: a row with a repeated id counts its (e, e) pairs on the diagonal) and
  // cross-layer pairs, staged per layer.
  detail::PairStage coact_stage(E, true), cross_stage(E, false);
  for (int l = 0; l < L; ++l) {
    const auto lu = static_cast<size_t>(l);
    int64_t* cnt = d.count.data() + lu * static_cast<size_t>(E);
    int64_t* first = d.top1.data() + lu * static_cast<size_t>(E);
    Int128* ws = d.wsum.data() + lu * static_cast<size_t>(E);
    int64_t* co = d.coact.data() + lu * static_cast<size_t>(E) * static_cast<size_t>(E);
    int64_t* cr = l + 1 < L ? d.cross.data() + lu * static_cast<size_t>(E) * static_cast<size_t>(E) : nullptr;
    coact_stage.set_total(co);
    cross_stage.set_total(cr);  // null at the last layer: nothing is staged there
    uint32_t* tok = token_slot[lu] >= 0 ? d.token_counts[static_cast<size_t>(token_slot[lu])].data() : nullptr;
    detail::ValueAcc& hf = d.ent_full[lu];
    detail::ValueAcc& ht = d.ent_topk[lu];
    const int32_t* layer_ids = ids + lu * T * static_cast<size_t>(K);
    for (size_t i = 0; i < n; ++i) {
      const auto r = static_cast<size_t>(rows[i]);
      const int32_t* id = layer_ids + r * static_cast<size_t>(K);
      uint32_t* gc = row_group[i]->counts.data() + lu * static_cast<size_t>(E);
      int64_t* lc = d.label_acc[static_cast<size_t>(row_label[i])].counts.data() + lu * static_cast<size_t>(E);
      int64_t* wc = d.window_counts.data() + (row_window[i] * static_cast<size_t>(L) + lu) * static_cast<size_t>(E);
      ++first[id[0]];
      for (int k = 0; k < K; ++k) {
        const int32_t e = id[k];
        ++cnt[e];
        ++gc[e];
        ++lc[e];
        ++wc[e];
      }
      coact_stage.add_pairs(id, K);
      if (cr) cross_stage.add(id[0], layer_ids[T * static_cast<size_t>(K) + r * static_cast<size_t>(K)]);
      detail::SampleAcc& s = d.samples[static_cast<size_t>(row_sample[i])];
      detail::LabelAcc& lab = d.label_acc[static_cast<size_t>(row_label[i])];
      if (weights) {
        const float* w = t.gate_weights_at(l, rows[i]);
        for (int k = 0; k < K; ++k) {
          if (!(std::fabs(w[k]) < detail::kFixedLimit))
            throw InputError(fmt::format("{}: gate weight {} at layer {}, row {} is not finite or too large", what, w[k],
                                         l, rows[i]));
          ws[id[k]] += detail::to_fixed(static_cast<double>(w[k]));
        }
        const double h = detail::distribution_entropy_bits(w, K);
        if (std::isfinite(h)) record(h, ht, hmax_topk, s.et_sum, s.et_n, lab.et_sum, lab.et_n);
      }
      if (full) {
        const float* x = t.router_logits_at(l, rows[i]);
        const double h = probabilities ? detail::distribution_entropy_bits(x, E) : detail::softmax_entropy_bits(x, E);
        if (!std::isfinite(h))
          throw InputError(fmt::format("{}: router logits at layer {}, row {} are not finite (or, as probabilities, "
                                       "not a distribution)",
                                       what, l, rows[i]));
        record(h, hf, hmax_full, s.ef_sum, s.ef_n, lab.ef_sum, lab.ef_n);
      }
    }
    coact_stage.flush();
    cross_stage.flush();
    // Token → expert, rows in vocabulary order: each table row (E counts) is touched in one run.
    if (tok)
      for (size_t i : by_vocab) {
        uint32_t* row = tok + static_cast<size_t>(row_vocab[i]) * static_cast<size_t>(E);
        const int32_t* id = layer_ids + static_cast<size_t>(rows[i]) * static_cast<size_t>(K);
        for (int k = 0; k < K; ++k) ++row[id[k]];
      }
  }
  if (full && d.logits_rows == 0) d.logits_kind = t.logits_kind;
  d.rows += static_cast<int64_t>(n);
  if (full) d.logits_rows += static_cast<int64_t>(n);
  if (weights) d.weight_rows += static_cast<int64_t>(n);
  if (t.has_token_ids()) d.token_rows += static_cast<int64_t>(n);
  if (tokens) d.check_token_table_size();
}

void RoutingStats::merge(RoutingStats other) {
  State& d = *s_;
  State& o = *other.s_;
  d.close_all();
  o.close_all();
  if (detail::options_key(d.options) != detail::options_key(o.options))
    throw InputError(fmt::format("merge: the statistics were computed with different options ({} vs {})",
                                 detail::options_key(o.options), detail::options_key(d.options)));
  if (!o.initialised) return;
  if (!d.initialised) {
    const StatsOptions keep = d.options;
    *s_ = std::move(o);
    s_->options = keep;
    return;
  }
  {
    RouterTrace shape;
    shape.meta.model_id = o.model_id;
    shape.layers = o.layers;
    shape.top_k = o.K;
    shape.logits_kind = o.logits_kind;
    d.check_compatible(shape, o.E, "merge");
    if (o.logits_rows > 0 && d.logits_rows > 0 && o.logits_kind != d.logits_kind)
      throw InputError("merge: the two statistics measured different logits kinds");
  }
  std::vector<int> src(o.sources.size()), lab(o.labels.size());
  for (size_t i = 0; i < o.sources.size(); ++i) src[i] = d.source_index(o.sources[i]);
  for (size_t i = 0; i < o.labels.size(); ++i) lab[i] = d.label_of(o.labels[i]);

  auto add = [](auto& a, const auto& b) {
    for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  };
  const bool take_kind = d.logits_rows == 0 && o.logits_rows > 0;
  add(d.count, o.count);
  add(d.top1, o.top1);
  add(d.wsum, o.wsum);
  for (size_t l = 0; l < d.ent_full.size(); ++l) {
    d.ent_full[l].merge(o.ent_full[l]);
    d.ent_topk[l].merge(o.ent_topk[l]);
  }
  add(d.dropped, o.dropped);
  add(d.assigned, o.assigned);
  add(d.coact, o.coact);
  add(d.cross, o.cross);
  if (o.window_rows.size() > d.window_rows.size()) {
    d.window_rows.resize(o.window_rows.size(), 0);
    d.window_counts.resize(o.window_counts.size(), 0);
  }
  add(d.window_rows, o.window_rows);
  for (size_t i = 0; i < o.window_counts.size(); ++i) d.window_counts[i] += o.window_counts[i];

  if (d.token_table && o.token_table) {
    std::vector<int> rows(o.vocab_ids.size());
    for (size_t v = 0; v < o.vocab_ids.size(); ++v) rows[v] = d.vocab_row(o.vocab_ids[v], &o.vocab_text[v]);
    d.grow_token_tables();
    for (size_t v = 0; v < o.vocab_ids.size(); ++v) {
      const int row = rows[v];
      d.occurrences[static_cast<size_t>(row)] += o.occurrences[v];
      for (size_t tl = 0; tl < d.token_counts.size(); ++tl)
        for (int e = 0; e < d.E; ++e)
          d.token_counts[tl][static_cast<size_t>(row) * static_cast<size_t>(d.E) + static_cast<size_t>(e)] +=
              o.token_counts[tl][v * static_cast<size_t>(d.E) + static_cast<size_t>(e)];
    }
    d.check_token_table_size();
  } else if (d.token_table) {
    d.drop_token_table(o.token_note);
  }

  for (size_t i = 0; i < o.labels.size(); ++i) d.label_acc[static_cast<size_t>(lab[i])].merge(o.label_acc[i]);
  for (detail::SampleAcc s : o.samples) {
    s.source = src[static_cast<size_t>(s.source)];
    s.label = lab[static_cast<size_t>(s.label)];
    const auto key = std::make_pair(s.source, s.id);
    if (d.sample_index.count(key))
      throw InputError(fmt::format("merge: sequence {} of '{}' is in both statistics (counted twice)", s.id,
                                   d.sources[static_cast<size_t>(s.source)]));
    d.sample_index[key] = static_cast<int>(d.samples.size());
    d.samples.push_back(std::move(s));
  }
  for (const detail::GroupKey& g : o.closed)
    d.closed.insert({src[static_cast<size_t>(std::get<0>(g))], std::get<1>(g), std::get<2>(g)});
  d.rows += o.rows;
  d.logits_rows += o.logits_rows;
  d.weight_rows += o.weight_rows;
  d.token_rows += o.token_rows;
  if (take_kind) d.logits_kind = o.logits_kind;
}

}  // namespace moeroute
