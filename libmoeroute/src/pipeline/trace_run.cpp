// The `trace` job (moeroute/trace_run.h). Shard by shard: the shard's samples are rendered,
// tokenized and cut to the token limit, sorted by length (longest first, so batches hold
// similar lengths and an out-of-memory comes early), scored in padded batches, and handed to the
// DatasetTraceWriter as one chunk in sample order. Batches never span shards, so a shard's
// content depends only on the shard: a split run writes the bytes a single run writes.
#include "moeroute/trace_run.h"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/trace_rows.h"
#include "dataset/trace_index_util.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/trace_io.h"
#include "pipeline/trace_progress.h"

namespace moeroute {

std::string to_string(TraceProgressMode m) {
  switch (m) {
    case TraceProgressMode::Bar: return "bar";
    case TraceProgressMode::Lines: return "lines";
    case TraceProgressMode::None: return "none";
    default: return "auto";
  }
}

TraceProgressMode parse_trace_progress_mode(const std::string& name) {
  for (auto m : {TraceProgressMode::Auto, TraceProgressMode::Bar, TraceProgressMode::Lines, TraceProgressMode::None})
    if (to_string(m) == name) return m;
  throw InputError(fmt::format("progress mode '{}' is not one of: auto, bar, lines, none", name));
}

namespace {

namespace fs = std::filesystem;

// Everything settled before the model loads.
struct Plan {
  ShardSelection selection;
  DatasetSummary dataset;
  DatasetTraceOptions writer;
};

// The run settings that change what is traced, as the index records them (docs/dataset-trace.md,
// "The tracing command"): requested values, so every rank of a run writes the same ones before
// loading anything. What they resolved to (dtype, device type, template) is in each shard's meta.
nlohmann::json run_settings(const TraceRunOptions& o) {
  const ModelOptions& m = o.run.model_options;
  const RecorderOptions& r = o.run.recording;
  const DatasetOptions& d = o.dataset;
  nlohmann::json settings = {
      {"mode", "teacher_forced"},
      {"dtype", to_string(m.dtype)},
      {"experts", to_string(m.experts)},
      {"routing_rule", m.routing_rule ? m.routing_rule->to_string() : ""},
      {"gate_patterns", m.gate_patterns},
      {"layers", r.layers},
      {"top_k", r.top_k},
      {"keep_logits", r.keep_logits},
      {"logits_dtype", r.keep_logits ? to_string(r.logits_dtype) : ""},
      {"chat_template", o.run.chat_template},
      {"max_tokens", o.max_tokens},
      {"strict", o.strict},
      {"dataset",
       {{"format", to_string(d.format)},
        {"text_field", d.text_field},
        {"messages_field", d.messages_field},
        {"label_field", d.label_field},
        {"csv_column", d.csv_column},
        {"text_unit", to_string(d.text_unit)},
        {"max_samples", d.max_samples}}},
  };
  // Only when set, so indexes written before the option resume and merge unchanged.
  if (m.weight_dtype != ModelDtype::Auto) settings["weight_dtype"] = to_string(m.weight_dtype);
  return settings;
}

Plan prepare(const TraceRunOptions& o) {
  if (o.files.empty()) throw InputError("trace: no dataset file (give --dataset FILE)");
  if (o.out.empty()) throw InputError("trace: no output directory (give --out DIR)");
  if (o.batch_size < 1) throw InputError(fmt::format("trace: --batch-size must be ≥ 1, got {}", o.batch_size));
  if (o.shard_size < 1) throw InputError(fmt::format("trace: --shard-size must be ≥ 1, got {}", o.shard_size));
  if (o.max_tokens < 0) throw InputError(fmt::format("trace: --max-tokens must be ≥ 0, got {}", o.max_tokens));
  if (o.max_tokens == 1) throw InputError("trace: --max-tokens 1 leaves no next token to score; give 0 or ≥ 2");
  if (o.run.recording.top_k < 0) throw InputError(fmt::format("trace: --top-k must be ≥ 0, got {}", o.run.recording.top_k));
  std::error_code ec;
  if (fs::exists(o.out, ec) && !fs::is_directory(o.out, ec))
    throw InputError(fmt::format("{}: exists and is not a directory (--out names the dataset-trace directory)",
                                 o.out.string()));
  Plan p;
  p.selection = resolve_shard_selection(o.shard);
  // A named template or file is checked now; the model's own needs the model.
  if (!o.run.chat_template.empty() && o.run.chat_template != "auto") model_chat_template(ModelInfo{}, o.run.chat_template);
  p.dataset = scan_dataset(o.files, o.dataset);
  p.writer.dir = o.out;
  p.writer.model_id = o.run.model;
  p.writer.options = run_settings(o);
  p.writer.shard_size = o.shard_size;
  p.writer.selection = p.selection;
  p.writer.logits_dtype = o.run.recording.logits_dtype;
  check_dataset_trace_dir(p.writer, p.dataset);
  return p;
}

// "cpu", "cuda" or "cpu,cuda": where the model runs, without device ordinals (ranks of one run
// use different GPUs and still write the same shards).
std::string device_types(const std::string& devices) {
  std::set<std::string> kinds;
  size_t at = 0;
  while (at <= devices.size()) {
    const size_t comma = devices.find(',', at);
    const std::string d = devices.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!d.empty()) kinds.insert(d.substr(0, d.find(':')));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return fmt::format("{}", fmt::join(kinds, ","));
}

// One sample as it is run: its tokens after rendering, encoding and truncation.
struct TokenizedSample {
  int64_t index = 0;
  std::string label;
  std::vector<int64_t> tokens;
  int64_t original_length = 0;  // tokens before truncation
};

class TraceJob {
 public:
  TraceJob(CausalLM& model, const TraceRunOptions& options, Plan plan)
      : model_(model), o_(options), plan_(std::move(plan)), info_(model.info()) {
    tok_ = model.tokenizer();
    if (!tok_)
      throw InputError(fmt::format("model '{}' has no tokenizer, so dataset text cannot be encoded", o_.run.model));
    set_token_limit();
    meta_.model_id = o_.run.model;
    meta_.source = info_.source;
    meta_.extra["mode"] = "teacher_forced";
    meta_.extra["dtype"] = info_.dtype;
    if (!info_.weight_dtype.empty()) meta_.extra["weight_dtype"] = info_.weight_dtype;
    meta_.extra["device_type"] = device_types(info_.device);
    meta_.extra["token_limit"] = std::to_string(limit_);
  }

  TraceRunResult run() {
    DatasetTraceWriter writer(plan_.writer, plan_.dataset);
    result_.index = writer.index_path();
    result_.selection = plan_.selection;
    result_.shards = static_cast<int64_t>(plan_shards(plan_.dataset.num_samples, o_.shard_size, plan_.selection).size());
    result_.shards_resumed = writer.resumed_shards();
    result_.token_limit = limit_;
    detail::TraceProgressPrinter progress(o_.progress, writer.pending_samples());
    for (const std::string& w : plan_.dataset.warnings) warn(progress, w);
    for (const std::string& w : limit_notes_) warn(progress, w);
    if (result_.shards_resumed > 0)
      progress.message(fmt::format("resuming: {} of {} shards of this process are already written",
                                   result_.shards_resumed, result_.shards));
    DatasetReader reader(o_.files, o_.dataset);
    std::vector<DatasetSample> shard;
    int64_t shard_index = -1;
    for (DatasetSample s; reader.next(s);) {
      if (!writer.wants(s.index)) continue;
      const int64_t j = s.index / o_.shard_size;
      if (j != shard_index && !shard.empty()) trace_shard(writer, shard, progress);
      shard_index = j;
      shard.push_back(std::move(s));
    }
    if (!shard.empty()) trace_shard(writer, shard, progress);
    if (result_.truncated > 0)
      warn(progress, fmt::format("{} samples were longer than {} tokens and were cut to their first {} (listed per "
                                 "shard in its meta 'truncated_samples')",
                                 result_.truncated, limit_, limit_));
    progress.finish();
    result_.seconds = progress.seconds();
    result_.complete = writer.complete();
    if (!result_.complete)
      throw Error(fmt::format("{}: the dataset was read but {} samples of this process were not traced",
                              writer.index_path().string(), writer.pending_samples()));
    return result_;
  }

 private:
  void warn(detail::TraceProgressPrinter& progress, const std::string& w) {
    result_.warnings.push_back(w);
    progress.message("warning: " + w);
  }

  // The token limit: --max-tokens, capped by the model's context where the model knows it.
  void set_token_limit() {
    const int64_t context = info_.max_positions;
    limit_ = o_.max_tokens;
    if (context > 0 && (limit_ == 0 || limit_ > context)) {
      if (limit_ > context)
        limit_notes_.push_back(fmt::format("--max-tokens {} exceeds the model's context of {} tokens; samples are cut "
                                           "at {}",
                                           limit_, context, context));
      limit_ = context;
    }
  }

  std::string text_of(const DatasetSample& s) {
    if (s.messages.empty()) return s.text;
    // Resolved at the first conversation: a text-only dataset needs no template.
    if (!chat_) chat_ = model_chat_template(info_, o_.run.chat_template);
    return sample_text(s, *chat_);
  }

  TokenizedSample tokenize(const DatasetSample& s) {
    TokenizedSample t;
    t.index = s.index;
    t.label = s.label;
    t.tokens = tok_->encode(text_of(s));
    t.original_length = static_cast<int64_t>(t.tokens.size());
    if (t.tokens.empty()) throw InputError(fmt::format("{}: sample {} encodes to no tokens", s.origin, s.index));
    if (limit_ > 0 && t.original_length > limit_) {
      const bool beyond_context = info_.max_positions > 0 && t.original_length > info_.max_positions;
      if (o_.strict && beyond_context)
        throw InputError(fmt::format("{}: sample {} has {} tokens, more than the model's context of {} (--strict; "
                                     "without it the sample is cut to its first {} tokens)",
                                     s.origin, s.index, t.original_length, info_.max_positions, limit_));
      t.tokens.resize(static_cast<size_t>(limit_));
    }
    return t;
  }

  // A scored sample as the rows of one sequence of a dataset trace.
  static RouterTrace sample_rows(ScoredSequence&& scored, const TokenizedSample& s) {
    RouterTrace t = std::move(scored.trace);
    const auto T = static_cast<size_t>(t.num_positions);
    t.prompt_length = 0;
    t.sequence_ids.assign(T, s.index);
    t.positions.resize(T);
    for (size_t p = 0; p < T; ++p) t.positions[p] = static_cast<int64_t>(p);
    t.segments.assign(T, RouterTrace::kSegmentPrompt);
    SequenceInfo info;
    info.id = s.index;
    info.label = s.label;
    info.num_tokens = t.num_positions;
    // Mean next-token NLL over the T − 1 predictions (docs/metrics.md, "Loss"); NaN for one token.
    if (T > 1) {
      double sum = 0;
      for (double lp : scored.next_token_logprobs) sum += lp;
      info.loss = -sum / static_cast<double>(T - 1);
    }
    t.sequences = {info};
    return t;
  }

  void trace_shard(DatasetTraceWriter& writer, std::vector<DatasetSample>& samples,
                   detail::TraceProgressPrinter& progress) {
    std::vector<TokenizedSample> tokenized;
    tokenized.reserve(samples.size());
    bool conversations = false;
    for (const DatasetSample& s : samples) {
      tokenized.push_back(tokenize(s));
      conversations = conversations || !s.messages.empty();
    }
    samples.clear();
    std::vector<size_t> order(tokenized.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return tokenized[a].tokens.size() > tokenized[b].tokens.size();
    });
    std::vector<RouterTrace> rows(tokenized.size());
    const auto batch = static_cast<size_t>(o_.batch_size);
    for (size_t start = 0; start < order.size(); start += batch) {
      const size_t end = std::min(order.size(), start + batch);
      std::vector<std::vector<int64_t>> ids;
      int64_t tokens = 0;
      for (size_t i = start; i < end; ++i) {
        ids.push_back(tokenized[order[i]].tokens);
        tokens += static_cast<int64_t>(ids.back().size());
      }
      std::vector<ScoredSequence> scored = score_batch(model_, ids, o_.run.recording);
      for (size_t i = start; i < end; ++i) rows[order[i]] = sample_rows(std::move(scored[i - start]), tokenized[order[i]]);
      progress.add(static_cast<int64_t>(end - start), tokens);
      result_.samples += static_cast<int64_t>(end - start);
      result_.tokens += tokens;
    }
    std::vector<int64_t> cut;
    for (const TokenizedSample& s : tokenized)
      if (s.original_length > static_cast<int64_t>(s.tokens.size())) cut.push_back(s.index);
    result_.truncated += static_cast<int64_t>(cut.size());
    RouterTrace chunk = detail::concat_rows(std::move(rows));
    const std::string rule = chunk.meta.routing_rule;  // the recorder's; the rest is the run's
    chunk.meta = meta_;
    chunk.meta.routing_rule = rule;
    // Per shard, so that a shard's meta does not depend on which shards a process saw before.
    if (conversations) chunk.meta.extra["chat_template"] = chat_->name();
    if (!cut.empty()) chunk.meta.extra["truncated_samples"] = fmt::format("{}", fmt::join(cut, ","));
    writer.add(chunk);
  }

  CausalLM& model_;
  const TraceRunOptions& o_;
  Plan plan_;
  const ModelInfo& info_;
  const Tokenizer* tok_ = nullptr;
  int64_t limit_ = 0;
  std::vector<std::string> limit_notes_;
  std::optional<ChatTemplate> chat_;
  TraceMeta meta_;
  TraceRunResult result_;
};

}  // namespace

TraceRunResult trace_dataset(CausalLM& model, const TraceRunOptions& options) {
  return TraceJob(model, options, prepare(options)).run();
}

TraceRunResult trace_dataset(const TraceRunOptions& options) {
  Plan plan = prepare(options);
  const auto model = load_model(options.run.model, options.run.model_options);
  return TraceJob(*model, options, std::move(plan)).run();
}

}  // namespace moeroute
