// Dataset traces: shard planning and rank selection, the writer (atomic verified shards, resume,
// adoption of an unindexed shard), the reader's checks against the index, and merging ranks.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include "error_of.h"
#include "dataset_fixtures.h"
#include "io/xxhash64.h"
#include "moeroute/dataset_trace.h"
#include "moeroute/error.h"
#include "moeroute/trace_concat.h"
#include "moeroute/trace_input.h"
#include "temp_dir.h"

using namespace moeroute;
using test::error_of;
namespace fs = std::filesystem;

namespace {

DatasetTraceOptions options_for(const fs::path& dir, int rank = 0, int world = 1, int64_t shard_size = 4) {
  DatasetTraceOptions o;
  o.dir = dir;
  o.model_id = "test-model";
  o.options = {{"max_tokens", 512}, {"template", "raw"}};
  o.shard_size = shard_size;
  o.selection = {rank, world, "--shard"};
  return o;
}

// Feeds every pending sample of `w` in chunks of `chunk` samples.
void run(DatasetTraceWriter& w, int64_t num_samples, int64_t chunk) {
  std::vector<int64_t> wanted;
  for (int64_t s = 0; s < num_samples; ++s)
    if (w.wants(s)) wanted.push_back(s);
  for (size_t i = 0; i < wanted.size();) {
    // A chunk is a run of consecutive wanted samples.
    size_t j = i + 1;
    while (j < wanted.size() && j - i < static_cast<size_t>(chunk) && wanted[j] == wanted[j - 1] + 1) ++j;
    w.add(test::sample_chunk(wanted[i], static_cast<int64_t>(j - i)));
    i = j;
  }
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}


}  // namespace

TEST_CASE("Shards are numbered globally and dealt to ranks round-robin", "[dataset_trace]") {
  const auto all = plan_shards(10, 4);
  REQUIRE(all.size() == 3);
  CHECK(all[2].begin == 8);
  CHECK(all[2].end == 10);
  const auto r1 = plan_shards(10, 2, {1, 2, ""});
  REQUIRE(r1.size() == 2);
  CHECK(r1[0].index == 1);
  CHECK(r1[1].index == 3);
  CHECK(r1[1].begin == 6);
  CHECK(plan_shards(0, 4).empty());
  CHECK_THROWS_AS(plan_shards(10, 0), InputError);
  CHECK(shard_file_name(7) == "shard-000007.safetensors");
  CHECK(index_file_name({3, 8, ""}) == "trace-rank00003-of-00008.json");
  CHECK(index_file_name({}) == "trace.json");
}

TEST_CASE("Rank selection: --shard, then torchrun's, then Slurm's variables", "[dataset_trace]") {
  std::map<std::string, std::string> env;
  auto get = [&](const char* k) -> const char* {
    const auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK(resolve_shard_selection("", get).world_size == 1);
  env = {{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "4"}};
  auto s = resolve_shard_selection("", get);
  CHECK(s.rank == 2);
  CHECK(s.world_size == 4);
  CHECK(s.origin == "SLURM_PROCID/SLURM_NTASKS");
  env["RANK"] = "5";
  env["WORLD_SIZE"] = "8";
  s = resolve_shard_selection("", get);
  CHECK(s.rank == 5);
  CHECK(s.origin == "RANK/WORLD_SIZE");
  s = resolve_shard_selection("1/3", get);
  CHECK(s.rank == 1);
  CHECK(s.world_size == 3);
  CHECK(s.origin == "--shard");
  CHECK_THROWS_WITH(parse_shard_selection("3/3"), Catch::Contains("0 ≤ I < N"));
  CHECK_THROWS_AS(parse_shard_selection("x"), InputError);
  env = {{"RANK", "0"}};
  CHECK_THROWS_WITH(resolve_shard_selection("", get), Catch::Contains("RANK is set but WORLD_SIZE is not"));
  env = {{"RANK", "a"}, {"WORLD_SIZE", "2"}};
  CHECK_THROWS_WITH(resolve_shard_selection("", get), Catch::Contains("RANK/WORLD_SIZE = 'a/2'"));
}

TEST_CASE("append_trace, select_sequences and sequence_rows", "[dataset_trace]") {
  RouterTrace a = test::sample_chunk(0, 2), b = test::sample_chunk(2, 3);
  RouterTrace joined;
  append_trace(joined, a);
  append_trace(joined, b);
  const RouterTrace whole = test::sample_chunk(0, 5);
  CHECK(joined.topk_ids == whole.topk_ids);
  CHECK(joined.router_logits == whole.router_logits);
  CHECK(joined.sequence_ids == whole.sequence_ids);
  CHECK(joined.sequences.size() == 5);
  joined.validate();
  CHECK_THROWS_WITH(append_trace(joined, a), Catch::Contains("sequence 0 is in both"));
  const RouterTrace sel = select_sequences(whole, {1, 3});
  const RouterTrace one = test::sample_chunk(1, 1), three = test::sample_chunk(3, 1);
  CHECK(sel.num_positions == one.num_positions + three.num_positions);
  CHECK(sel.sequences.size() == 2);
  RouterTrace expect;
  append_trace(expect, one);
  append_trace(expect, three);
  CHECK(sel.gate_weights == expect.gate_weights);
  const auto rows = sequence_rows(whole);
  REQUIRE(rows.size() == 5);
  CHECK(rows[4].id == 4);
  CHECK(rows[4].info->label == "domain1");
  CHECK(rows[4].rows.front() == whole.num_positions - 7);
  RouterTrace other = test::sample_chunk(9, 1, 3, 6);
  CHECK_THROWS_WITH(append_trace(joined, other), Catch::Contains("6 experts, top-2 vs 8 experts, top-2"));
}

TEST_CASE("The writer writes verified shards and an index that lists exactly them", "[dataset_trace]") {
  test::TempDir dir;
  DatasetTraceWriter w(options_for(dir.path()), test::summary_of(10));
  CHECK(w.pending().size() == 3);
  CHECK(w.next_sample() == 0);
  CHECK_FALSE(w.complete());
  // Before any shard: the index exists and claims nothing.
  CHECK(read_dataset_trace_index(w.index_path()).shards.empty());
  w.add(test::sample_chunk(0, 3));
  CHECK(read_dataset_trace_index(w.index_path()).shards.empty());
  w.add(test::sample_chunk(3, 3));  // spans shards 0 and 1
  DatasetTraceIndex x = read_dataset_trace_index(w.index_path());
  REQUIRE(x.shards.size() == 1);
  CHECK(x.shards[0].sample_end == 4);
  CHECK(w.next_sample() == 6);
  CHECK_THROWS_WITH(w.add(test::sample_chunk(7, 1)), Catch::Contains("got sample 7, expected sample 6"));
  w.add(test::sample_chunk(6, 4));
  CHECK(w.complete());
  x = read_dataset_trace_index(dir / "trace.json");
  CHECK(x.complete);
  REQUIRE(x.shards.size() == 3);
  CHECK(x.has_shape);
  CHECK(x.shape.num_experts == 8);
  CHECK(x.shape.logits_dtype == "f32");
  CHECK(x.shards[2].file == "shard-000002.safetensors");
  CHECK(x.shards[2].xxh64 == detail::xxh64_hex(detail::xxh64(read_bytes(dir / x.shards[2].file))));
  // Reading through the one input function gives the samples back in order.
  RouterTrace all;
  int chunks = 0;
  for_each_trace_chunk(dir.path(), [&](const RouterTrace& t, const TraceChunkInfo& info) {
    CHECK(info.index != nullptr);
    append_trace(all, t);
    ++chunks;
  });
  CHECK(chunks == 3);
  const RouterTrace expect = test::sample_chunk(0, 10);
  CHECK(all.topk_ids == expect.topk_ids);
  CHECK(all.router_logits == expect.router_logits);
  CHECK(all.sequences.size() == 10);
  CHECK(std::isnan(all.sequences[6].loss));
  CHECK(all.sequences[5].loss == 1.5);
  CHECK_THROWS_WITH(w.add(test::sample_chunk(10, 1)), Catch::Contains("after this rank's last shard"));
}

TEST_CASE("A restarted writer keeps finished shards and adopts one the index had not listed yet", "[dataset_trace]") {
  test::TempDir dir;
  {
    DatasetTraceWriter w(options_for(dir.path()), test::summary_of(12));
    w.add(test::sample_chunk(0, 9));  // shards 0, 1 written; shard 2 in progress when "the crash" comes
  }
  {
    DatasetTraceWriter w(options_for(dir.path()), test::summary_of(12));
    CHECK(w.resumed_shards() == 2);
    CHECK(w.next_sample() == 8);
    REQUIRE(w.pending().size() == 1);
    CHECK_FALSE(w.wants(3));
    CHECK(w.wants(9));
    w.add(test::sample_chunk(8, 4));
    CHECK(w.complete());
  }
  // A crash between a shard's rename and the index update: the index lacks shard 1.
  DatasetTraceIndex x = read_dataset_trace_index(dir / "trace.json");
  const std::string full_index = read_bytes(dir / "trace.json");
  x.shards.erase(x.shards.begin() + 1);
  x.complete = false;
  std::ofstream(dir / "trace.json") << x.to_json();
  std::ofstream(dir / ".shard-000001.safetensors.tmp1234abcd") << "half a shard";
  {
    DatasetTraceWriter w(options_for(dir.path()), test::summary_of(12));
    CHECK(w.resumed_shards() == 3);
    CHECK(w.complete());
  }
  CHECK_FALSE(fs::exists(dir / ".shard-000001.safetensors.tmp1234abcd"));
  CHECK(read_bytes(dir / "trace.json") == full_index);
}

TEST_CASE("Resuming with another run's settings is refused", "[dataset_trace]") {
  test::TempDir dir;
  {
    DatasetTraceWriter w(options_for(dir.path()), test::summary_of(8));
    w.add(test::sample_chunk(0, 4));
  }
  auto o = options_for(dir.path());
  o.options["max_tokens"] = 256;
  CHECK_THROWS_WITH(DatasetTraceWriter(o, test::summary_of(8)),
                    Catch::Contains("holds a trace of a different run (options"));
  CHECK_THROWS_WITH(DatasetTraceWriter(options_for(dir.path()), test::summary_of(8, "ffffffffffffffff")),
                    Catch::Contains("dataset file 0 is data.jsonl"));
  o = options_for(dir.path());
  o.model_id = "other";
  CHECK_THROWS_WITH(DatasetTraceWriter(o, test::summary_of(8)), Catch::Contains("model 'test-model' vs 'other'"));
}

TEST_CASE("An index that disagrees with its shard files is a specific error", "[dataset_trace]") {
  test::TempDir dir;
  {
    DatasetTraceWriter w(options_for(dir.path()), test::summary_of(8));
    run(w, 8, 3);
  }
  const fs::path index = dir / "trace.json";
  const DatasetTraceIndex x = read_dataset_trace_index(index);
  const fs::path shard = dir / x.shards[1].file;
  const std::string good = read_bytes(shard);
  auto read_all = [&] { for_each_trace_chunk(index, [](const RouterTrace&, const TraceChunkInfo&) {}); };

  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x40;
  std::ofstream(shard, std::ios::binary) << flipped;
  CHECK_THAT(error_of(read_all), Catch::Contains("shard 1 (") && Catch::Contains("disagrees with the index: its XXH64 is"));
  std::ofstream(shard, std::ios::binary) << good.substr(0, good.size() - 8);
  CHECK_THAT(error_of(read_all), Catch::Contains("bytes, the index says " + std::to_string(good.size())));
  fs::remove(shard);
  CHECK_THAT(error_of(read_all), Catch::Contains("the file does not exist"));
  // A shard file of the same size from another position: caught by its own metadata.
  fs::copy_file(dir / x.shards[0].file, shard);
  DatasetTraceIndex lying = x;
  lying.shards[1].bytes = fs::file_size(shard);
  lying.shards[1].xxh64 = detail::xxh64_hex(detail::xxh64_file(shard.string()));
  std::ofstream(index) << lying.to_json();
  CHECK_THAT(error_of(read_all), Catch::Contains("it says it is shard 0, expected 1"));
  // Index checks of its own.
  std::ofstream(index) << "{\"format\": \"moeroute.dataset-trace\", \"format_version\": 9}";
  CHECK_THAT(error_of(read_all), Catch::Contains("version 9 is not supported"));
  fs::remove(index);
  CHECK_THAT(error_of(read_all), Catch::Contains("no such file"));
  std::ofstream(dir / "trace-rank00000-of-00002.json") << "{}";
  CHECK_THAT(error_of([&] { for_each_trace_chunk(dir.path(), [](const RouterTrace&, const TraceChunkInfo&) {}); }),
             Catch::Contains("run `moeroute merge"));
}

TEST_CASE("Two ranks merged equal one process: same shard files, same index", "[dataset_trace]") {
  test::TempDir one, two;
  {
    DatasetTraceWriter w(options_for(one.path()), test::summary_of(11));
    run(w, 11, 5);
  }
  for (int rank : {1, 0}) {
    DatasetTraceWriter w(options_for(two.path(), rank, 2), test::summary_of(11));
    run(w, 11, 2);
    CHECK(w.complete());
  }
  const auto ranks = rank_indexes_in(two.path());
  REQUIRE(ranks.size() == 2);
  const DatasetTraceIndex merged = merge_dataset_traces(ranks, two / "trace.json");
  const DatasetTraceIndex single = read_dataset_trace_index(one / "trace.json");
  REQUIRE(merged.shards.size() == single.shards.size());
  for (size_t i = 0; i < single.shards.size(); ++i) {
    CHECK(merged.shards[i].file == single.shards[i].file);
    CHECK(merged.shards[i].xxh64 == single.shards[i].xxh64);
    CHECK(read_bytes(two / merged.shards[i].file) == read_bytes(one / single.shards[i].file));
  }
  DatasetTraceIndex reread = read_dataset_trace_index(two / "trace.json");
  CHECK(reread.merged_from == std::vector<std::string>{"trace-rank00000-of-00002.json", "trace-rank00001-of-00002.json"});
  CHECK(reread.selection.origin == "merge");
  reread.merged_from.clear();
  reread.selection.origin = single.selection.origin;
  CHECK(reread.to_json() == single.to_json());
}

TEST_CASE("Merging refuses pieces that do not fit", "[dataset_trace]") {
  test::TempDir dir, other;
  for (int rank : {0, 1}) {
    DatasetTraceWriter w(options_for(dir.path(), rank, 2), test::summary_of(11));
    if (rank == 0) run(w, 11, 4);
  }
  auto ranks = rank_indexes_in(dir.path());
  CHECK_THROWS_WITH(merge_dataset_traces(ranks, dir / "trace.json"),
                    Catch::Contains("trace-rank00001-of-00002.json is incomplete: rank 1 of 2 lists 0 of its 1 shards"));
  CHECK_THROWS_WITH(merge_dataset_traces({ranks[0]}, dir / "trace.json"),
                    Catch::Contains("do not cover the dataset: 1 of 3 shards missing (1)"));
  CHECK_THROWS_WITH(merge_dataset_traces({ranks[0], ranks[0]}, dir / "trace.json"),
                    Catch::Contains("shard 0 is listed by both"));
  {
    auto o = options_for(other.path(), 1, 2);
    o.options["template"] = "chatml";
    DatasetTraceWriter w(o, test::summary_of(11));
    run(w, 11, 4);
  }
  CHECK_THROWS_WITH(merge_dataset_traces({ranks[0], rank_indexes_in(other.path())[0]}, dir / "trace.json"),
                    Catch::Contains("is of a different run"));
  CHECK_FALSE(fs::exists(dir / "trace.json"));
}
