// The `trace` job (moeroute/trace_run.h) against a fake model whose routing and log-probabilities
// are functions of the tokens (fake_causal_lm.h), so every recorded value is known by hand:
// tokens, losses, labels and rows; batches inside shards; a split run and its merge against the
// single run, byte for byte; resuming; truncation; conversations; refusals before the model loads.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "error_of.h"
#include "fake_causal_lm.h"
#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "moeroute/trace_input.h"
#include "moeroute/trace_run.h"
#include "pipeline/trace_progress.h"
#include "temp_dir.h"

using namespace moeroute;
using test::error_of;
using test::FakeModel;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kByteVocab = 259;  // bytes + 3 special tokens

std::shared_ptr<const Tokenizer> byte_tokenizer() {
  return make_byte_tokenizer({"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
}

FakeModel fake(bool padded = true) { return FakeModel(padded, kByteVocab, byte_tokenizer()); }

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Seven samples of one file: "0123" and "abc" follow the fake's next-token rule (loss 0), "a0"
// breaks it once in one prediction, "0" has no prediction.
const char* kLines = "0123\nabc\na0\n0\nxyz{\n01a\nqrs\n";

TraceRunOptions options(const fs::path& data, const fs::path& out) {
  TraceRunOptions o;
  o.run.model = "fake";
  o.files = {{data, "letters"}};
  o.out = out;
  o.shard_size = 3;
  o.batch_size = 2;
  o.progress = TraceProgressMode::None;
  return o;
}

struct Sample {
  std::vector<int64_t> tokens;
  std::string label;
  double loss = 0;
  int64_t num_tokens = 0;
  std::vector<int32_t> first_choice;  // layer 0's first expert per position
};

std::map<int64_t, Sample> read_samples(const fs::path& dir) {
  std::map<int64_t, Sample> out;
  for_each_trace_chunk(dir, [&](const RouterTrace& t, const TraceChunkInfo&) {
    for (int64_t r = 0; r < t.num_positions; ++r) {
      Sample& s = out[t.sequence_of(r)];
      CHECK(t.position_of(r) == static_cast<int64_t>(s.tokens.size()));
      CHECK(t.is_prompt(r));
      s.tokens.push_back(t.token_ids[static_cast<size_t>(r)]);
      s.first_choice.push_back(t.topk_ids_at(0, r)[0]);
    }
    for (const SequenceInfo& q : t.sequences) {
      out[q.id].label = q.label;
      out[q.id].loss = q.loss;
      out[q.id].num_tokens = q.num_tokens;
    }
  });
  return out;
}

std::vector<int64_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("trace records every sample: tokens, loss over T - 1 predictions, label, routing", "[trace_run]") {
  test::TempDir tmp;
  write(tmp / "letters.txt", kLines);
  auto m = fake();
  const TraceRunResult r = trace_dataset(m, options(tmp / "letters.txt", tmp / "run"));
  CHECK(r.complete);
  CHECK(r.samples == 7);
  CHECK(r.tokens == 4 + 3 + 2 + 1 + 4 + 3 + 3);
  CHECK(r.shards == 3);
  CHECK(r.index == tmp / "run" / "trace.json");
  const auto samples = read_samples(tmp / "run");
  REQUIRE(samples.size() == 7);
  const std::vector<std::string> texts{"0123", "abc", "a0", "0", "xyz{", "01a", "qrs"};
  const double miss = -std::log(1e-3);  // NLL of a prediction that breaks the rule
  const std::vector<double> losses{0, 0, miss, std::nan(""), 0, miss / 2, 0};
  for (int64_t i = 0; i < 7; ++i) {
    INFO("sample " << i);
    const Sample& s = samples.at(i);
    CHECK(s.tokens == bytes_of(texts[static_cast<size_t>(i)]));
    CHECK(s.label == "letters");
    CHECK(s.num_tokens == static_cast<int64_t>(s.tokens.size()));
    if (std::isnan(losses[static_cast<size_t>(i)])) CHECK(std::isnan(s.loss));
    // The fake model's log-probabilities are the doubles 0 and log(1e-3); the loss is their mean
    // over ≤ 3 predictions, so it differs from `losses` only by double rounding (≤ 4 · 2⁻⁵³ · 6.9
    // ≈ 3e-15) — then stored in the shard's JSON metadata, whose round trip is exact.
    else CHECK(s.loss == Approx(losses[static_cast<size_t>(i)]).margin(1e-14));
    for (size_t p = 0; p < s.tokens.size(); ++p) CHECK(s.first_choice[p] == s.tokens[p] % test::kExperts);
  }
  // Batches of ≤ 2 inside each shard of 3 (samples 0–2, 3–5, 6), longest first: 2 + 2 + 1 forwards.
  CHECK(m.forwards == 5);
  CHECK(m.max_batch == 2);
  CHECK(m.batches[0] == std::vector<std::vector<int64_t>>{bytes_of("0123"), bytes_of("abc")});
  CHECK(m.batches[2] == std::vector<std::vector<int64_t>>{bytes_of("xyz{"), bytes_of("01a")});
  // What the index records: the run settings as requested, the resolved ones per shard.
  const DatasetTraceIndex index = read_dataset_trace_index(r.index);
  CHECK(index.options.at("mode") == "teacher_forced");
  CHECK(index.options.at("max_tokens") == 0);
  CHECK(index.model_id == "fake");
  const RouterTrace shard = load_trace(tmp / "run" / "shard-000000.safetensors");
  CHECK(shard.meta.extra.at("device_type") == "");
  CHECK(shard.meta.extra.at("mode") == "teacher_forced");
  CHECK(shard.meta.extra.count("chat_template") == 0);
}

TEST_CASE("a dataset traced as --shard 0/2 + 1/2 and merged equals the single run, byte for byte", "[trace_run]") {
  test::TempDir tmp;
  write(tmp / "letters.txt", kLines);
  auto single_model = fake(), rank0_model = fake(), rank1_model = fake();
  trace_dataset(single_model, options(tmp / "letters.txt", tmp / "single"));
  TraceRunOptions o = options(tmp / "letters.txt", tmp / "split");
  o.shard = "0/2";
  const TraceRunResult r0 = trace_dataset(rank0_model, o);
  o.shard = "1/2";
  const TraceRunResult r1 = trace_dataset(rank1_model, o);
  CHECK(r0.index.filename() == "trace-rank00000-of-00002.json");
  CHECK(r0.samples + r1.samples == 7);
  CHECK(r0.shards == 2);
  CHECK(r1.shards == 1);
  const DatasetTraceIndex merged = merge_dataset_traces({r0.index, r1.index}, tmp / "split" / "trace.json");
  const DatasetTraceIndex single = read_dataset_trace_index(tmp / "single" / "trace.json");
  CHECK(merged.run_id == single.run_id);
  REQUIRE(merged.shards.size() == single.shards.size());
  for (size_t j = 0; j < single.shards.size(); ++j) {
    CHECK(merged.shards[j].xxh64 == single.shards[j].xxh64);
    CHECK(read_bytes(tmp / "split" / merged.shards[j].file) == read_bytes(tmp / "single" / single.shards[j].file));
  }
}

TEST_CASE("a restarted run keeps the verified shards and traces only what is missing", "[trace_run]") {
  test::TempDir tmp;
  write(tmp / "letters.txt", kLines);
  const fs::path run = tmp / "run";
  auto first = fake();
  trace_dataset(first, options(tmp / "letters.txt", run));
  const std::string last_shard = read_bytes(run / "shard-000002.safetensors");
  // A crash before the last shard was renamed into place: no file, no index entry.
  auto drop_last_entry = [&] {
    auto j = nlohmann::json::parse(read_bytes(run / "trace.json"));
    j["shards"].erase(j["shards"].size() - 1);
    j["complete"] = false;
    write(run / "trace.json", j.dump(2));
  };
  drop_last_entry();
  fs::remove(run / "shard-000002.safetensors");
  write(run / ".shard-000002.safetensors.tmp123", "half a shard");  // an interrupted temporary
  auto second = fake();
  const TraceRunResult r = trace_dataset(second, options(tmp / "letters.txt", run));
  CHECK(r.shards_resumed == 2);
  CHECK(r.samples == 1);
  CHECK(second.forwards == 1);
  CHECK(r.complete);
  CHECK(read_bytes(run / "shard-000002.safetensors") == last_shard);
  CHECK_FALSE(fs::exists(run / ".shard-000002.safetensors.tmp123"));
  // A crash between the rename and the index update: the complete file is adopted, nothing runs.
  drop_last_entry();
  auto third = fake();
  const TraceRunResult again = trace_dataset(third, options(tmp / "letters.txt", run));
  CHECK(again.shards_resumed == 3);
  CHECK(third.forwards == 0);
  CHECK(read_dataset_trace_index(run / "trace.json").complete);
}

TEST_CASE("samples are cut to --max-tokens and to the model's context; --strict refuses the context", "[trace_run]") {
  test::TempDir tmp;
  write(tmp / "letters.txt", kLines);
  auto m = fake();
  TraceRunOptions o = options(tmp / "letters.txt", tmp / "cut");
  o.max_tokens = 3;
  const TraceRunResult r = trace_dataset(m, o);
  CHECK(r.token_limit == 3);
  CHECK(r.truncated == 2);  // "0123" and "xyz{"
  const auto samples = read_samples(tmp / "cut");
  CHECK(samples.at(0).tokens == bytes_of("012"));
  CHECK(samples.at(0).num_tokens == 3);
  CHECK(samples.at(4).tokens == bytes_of("xyz"));
  CHECK(load_trace(tmp / "cut" / "shard-000000.safetensors").meta.extra.at("truncated_samples") == "0");
  REQUIRE(!r.warnings.empty());
  CHECK_THAT(r.warnings.back(), Catch::Contains("2 samples were longer than 3 tokens"));

  auto ctx = fake();
  ctx.mutable_info().max_positions = 3;
  o.out = tmp / "context";
  o.max_tokens = 0;
  const TraceRunResult c = trace_dataset(ctx, o);
  CHECK(c.token_limit == 3);
  CHECK(c.truncated == 2);
  o.out = tmp / "strict";
  o.strict = true;
  auto strict = fake();
  strict.mutable_info().max_positions = 3;
  CHECK_THAT(error_of([&] { trace_dataset(strict, o); }),
             Catch::Contains("letters.txt:1: sample 0 has 4 tokens, more than the model's context of 3 (--strict"));
}

TEST_CASE("conversations are rendered with the chat template before they are encoded", "[trace_run]") {
  test::TempDir tmp;
  write(tmp / "chat.jsonl",
        R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})"
        "\n"
        R"({"text": "plain"})"
        "\n");
  auto m = fake();
  TraceRunOptions o = options(tmp / "chat.jsonl", tmp / "run");
  o.files = {{tmp / "chat.jsonl", ""}};
  o.run.chat_template = "chatml";
  o.shard_size = 1;
  trace_dataset(m, o);
  const auto samples = read_samples(tmp / "run");
  const std::string chat =
      ChatTemplate::builtin("chatml").render_conversation({{"user", "hi"}, {"assistant", "yo"}});
  CHECK(samples.at(0).tokens == byte_tokenizer()->encode(chat));
  CHECK(samples.at(0).tokens.front() == 257);  // <|im_start|> as one special token
  CHECK(samples.at(0).label == "chat");
  CHECK(samples.at(1).tokens == bytes_of("plain"));
  CHECK(load_trace(tmp / "run" / "shard-000000.safetensors").meta.extra.at("chat_template") == "chatml");
  CHECK(load_trace(tmp / "run" / "shard-000001.safetensors").meta.extra.count("chat_template") == 0);
}

TEST_CASE("bad input is refused before the model loads, and nothing is written", "[trace_run]") {
  test::TempDir tmp;
  write(tmp / "letters.txt", kLines);
  TraceRunOptions o = options(tmp / "letters.txt", tmp / "run");
  o.run.model = "builtin:no-such-model";  // loading it would fail: every error below comes first
  auto refused = [&](const TraceRunOptions& x) { return error_of([&] { trace_dataset(x); }); };

  TraceRunOptions bad = o;
  write(tmp / "bad.jsonl", "{\"text\": \"ok\"}\n{\"body\": 1}\n");
  bad.files = {{tmp / "bad.jsonl", ""}};
  CHECK_THAT(refused(bad), Catch::Contains("bad.jsonl:2: record has neither 'text' nor 'messages'"));
  bad = o;
  bad.shard = "2/2";
  CHECK_THAT(refused(bad), Catch::Contains("2/2"));
  bad = o;
  bad.batch_size = 0;
  CHECK_THAT(refused(bad), Catch::Contains("--batch-size must be ≥ 1"));
  bad = o;
  bad.max_tokens = 1;
  CHECK_THAT(refused(bad), Catch::Contains("--max-tokens 1 leaves no next token"));
  bad = o;
  bad.run.chat_template = "no-such-template";
  CHECK_THAT(refused(bad), Catch::Contains("no-such-template"));
  bad = o;
  bad.out = tmp / "letters.txt";
  CHECK_THAT(refused(bad), Catch::Contains("exists and is not a directory"));
  ::setenv("RANK", "one", 1);
  ::setenv("WORLD_SIZE", "2", 1);
  CHECK_THAT(refused(o), Catch::Contains("RANK"));
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  CHECK_FALSE(fs::exists(tmp / "run"));

  // A directory holding another run (here: another --max-tokens) is refused before loading too.
  auto m = fake();
  TraceRunOptions first = options(tmp / "letters.txt", tmp / "run");
  trace_dataset(m, first);
  const std::string index = read_bytes(tmp / "run" / "trace.json");
  bad = o;
  bad.run.model = "fake";
  bad.max_tokens = 2;
  CHECK_THAT(refused(bad), Catch::Contains("holds a trace of a different run (options"));
  CHECK(read_bytes(tmp / "run" / "trace.json") == index);

  FakeModel silent(true, kByteVocab);  // no tokenizer
  CHECK_THAT(error_of([&] { trace_dataset(silent, options(tmp / "letters.txt", tmp / "other")); }),
             Catch::Contains("has no tokenizer"));
}

TEST_CASE("the progress line counts samples and tokens and estimates the time left", "[trace_run]") {
  detail::TraceProgressMeter m(120);
  CHECK(m.line(0) == "0/120 samples (0%)  0 tokens  -- tokens/s  ETA --");
  m.add(10.0, 30, 15000);
  CHECK(m.tokens_per_second() == 1500.0);
  // 30 samples in 10 s: the other 90 take 30 s.
  CHECK(m.line(0) == "30/120 samples (25%)  15000 tokens  1500 tokens/s  ETA 30s");
  CHECK(m.line(8) == "[##......] 30/120 samples (25%)  15000 tokens  1500 tokens/s  ETA 30s");
}
