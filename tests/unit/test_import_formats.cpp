// The vLLM, SGLang and Megatron-Core importers against fixtures written by the engines' own
// writers (numpy, torch.save, Megatron's RouterTracer) with the rows they must produce written
// beside them by an independent script (tests/data/import/make_import_fixtures.py).
#include <catch2/catch.hpp>

#include <fstream>

#include "core/trace_rows.h"
#include "import_test_util.h"
#include "io/npy.h"
#include "io/torch_pickle.h"
#include "io/zip_reader.h"
#include "moeroute/trace_concat.h"
#include "moeroute/trace_input.h"
#include "moeroute/trace_io.h"

using namespace moeroute;

namespace {

const std::filesystem::path kData = std::filesystem::path(MOEROUTE_TEST_DATA_DIR) / "import";

ImportOptions fmt_opts(ImportFormat f) {
  ImportOptions o;
  o.format = f;
  return o;
}

// Every per-row and per-layer array of `got` equals `want`'s.
void check_same_rows(const RouterTrace& got, const RouterTrace& want) {
  REQUIRE(got.num_layers() == want.num_layers());
  for (int l = 0; l < got.num_layers(); ++l) {
    CHECK(got.layers[static_cast<size_t>(l)].name == want.layers[static_cast<size_t>(l)].name);
    CHECK(got.layers[static_cast<size_t>(l)].index == want.layers[static_cast<size_t>(l)].index);
  }
  CHECK(got.top_k == want.top_k);
  REQUIRE(got.num_positions == want.num_positions);
  CHECK(got.topk_ids == want.topk_ids);
  CHECK(got.sequence_ids == want.sequence_ids);
  CHECK(got.positions == want.positions);
  CHECK(got.segments == want.segments);
  CHECK(got.token_ids == want.token_ids);
  CHECK(got.router_logits == want.router_logits);
}

std::vector<std::string> labels(const RouterTrace& t) {
  std::vector<std::string> out;
  for (const auto& s : t.sequences) out.push_back(s.label);
  return out;
}

}  // namespace

TEST_CASE("formats are detected from their first bytes", "[import]") {
  const std::pair<const char*, ImportFormat> cases[] = {
      {"vllm_033.jsonl", ImportFormat::VllmJsonl},        {"vllm_021.jsonl", ImportFormat::VllmJsonl},
      {"vllm_request_a.npz", ImportFormat::VllmNpz},      {"vllm_routed_a.npy", ImportFormat::VllmNpy},
      {"sglang_per_token.pt", ImportFormat::SglangDump},  {"sglang_stat.pt", ImportFormat::SglangDump},
      {"sglang_generate.jsonl", ImportFormat::SglangJsonl}, {"megatron/router_trace_rank0.jsonl", ImportFormat::MegatronTrace},
      {"truth_a.safetensors", ImportFormat::MoerouteTrace},
  };
  for (const auto& [file, format] : cases) {
    INFO(file);
    CHECK(detect_import_format(kData / file) == format);
  }
  CHECK(is_expert_counts_dump(kData / "sglang_stat.pt"));
  CHECK(is_expert_counts_dump(kData / "sglang_per_pass.pt"));
  CHECK_FALSE(is_expert_counts_dump(kData / "sglang_per_token.pt"));
  test::TempDir dir;
  test::write_file(dir / "log.jsonl", "{\"epoch\": 1, \"utilization\": [0.5, 0.5]}\n");
  CHECK_THROWS_WITH(detect_import_format(dir / "log.jsonl"), Catch::Contains("moeroute training"));
  test::write_file(dir / "x.txt", "hello\n");
  CHECK_THROWS_AS(detect_import_format(dir / "x.txt"), UnsupportedError);
}

TEST_CASE("vLLM 0.33 responses: base64 .npy per choice, dense layers dropped, rows right-aligned", "[import][vllm]") {
  ImportReport r;
  const RouterTrace t = import_trace(kData / "vllm_033.jsonl", {}, &r);
  check_same_rows(t, load_trace(kData / "expected_vllm_033.safetensors"));
  CHECK(labels(t) == std::vector<std::string>{"chatcmpl-A#0", "chatcmpl-B#0"});
  CHECK(t.num_experts == 8);
  CHECK(r.num_experts_inferred);
  CHECK(t.meta.extra.at("import.layer_numbering") == "decoder layer index");
  bool dropped = false;
  for (const auto& n : r.notes) dropped = dropped || n.find("dropped decoder layers 0") != std::string::npos;
  CHECK(dropped);
}

TEST_CASE("vLLM 0.21 responses: split prompt/generated lists numbered by MoE layer", "[import][vllm]") {
  const RouterTrace want = load_trace(kData / "expected_requests.safetensors");
  ImportOptions o;
  o.layer_map = parse_layer_map("1-3");
  const RouterTrace t = import_trace(kData / "vllm_021.jsonl", o);
  check_same_rows(t, want);
  CHECK(labels(t) == std::vector<std::string>{"cmpl-A#0", "cmpl-B#0"});
  // Without the map the layers keep the MoE ordinals, and say so.
  const RouterTrace raw = import_trace(kData / "vllm_021.jsonl");
  CHECK(raw.layers[0].name == "layers.0");
  CHECK_THAT(raw.meta.extra.at("import.layer_numbering"), Catch::Contains("MoE-layer ordinal"));
  o.layer_map = {1, 2};
  CHECK_THROWS_WITH(import_trace(kData / "vllm_021.jsonl", o), Catch::Contains("--layer-map gives 2 layers but the source has 3"));
}

TEST_CASE("vLLM arrays saved with numpy: .npz with token ids, bare .npy", "[import][vllm]") {
  const RouterTrace truth = load_trace(kData / "truth_a.safetensors");
  const RouterTrace z = import_trace(kData / "vllm_request_a.npz");
  CHECK(z.topk_ids == truth.topk_ids);
  CHECK(z.token_ids == truth.token_ids);
  CHECK(z.positions == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(z.segments == std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 1, 1});
  CHECK(z.layers[0].index == 1);
  ImportReport r;
  ImportOptions o;
  o.layer_map = {1, 2, 3};
  o.chunk_rows = 3;  // read in blocks of rows: still one sequence
  const RouterTrace y = import_trace(kData / "vllm_routed_a.npy", o, &r);
  CHECK(y.topk_ids == truth.topk_ids);
  CHECK(y.sequence_ids == std::vector<int64_t>(8, 0));
  CHECK(y.positions == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK_FALSE(y.has_token_ids());
  CHECK(y.segments.empty());
  CHECK_THAT(r.notes.back(), Catch::Contains("bare .npy"));
}

TEST_CASE("SGLang per_token dump: physical ids with the map, requests per pass", "[import][sglang]") {
  ImportReport r;
  const RouterTrace t = import_trace(kData / "sglang_per_token.pt", {}, &r);
  const RouterTrace want = load_trace(kData / "expected_sglang_per_token.safetensors");
  check_same_rows(t, want);
  CHECK(labels(t) == labels(want));
  CHECK(t.id_space == ExpertIdSpace::Physical);
  CHECK(t.num_experts == 10);
  CHECK(t.num_logical_experts == 8);
  REQUIRE(t.physical_to_logical.size() == 3 * 10);
  CHECK(std::vector<int32_t>(t.physical_to_logical.begin(), t.physical_to_logical.begin() + 10) ==
        std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 2, 5});
  CHECK_FALSE(r.num_experts_inferred);  // the map's width says 10 slots
  // Mapped to logical experts, the routing is the requests' truth: A's prompt is pass 0 slot 0.
  const RouterTrace truth = load_trace(kData / "truth_a.safetensors");
  for (int l = 0; l < 3; ++l)
    for (int64_t p = 0; p < 5; ++p) {
      const int32_t* got = t.topk_ids_at(l, p);
      const int32_t* map = t.physical_to_logical.data() + l * 10;
      CHECK(std::vector<int32_t>{map[got[0]], map[got[1]]} == test::ids_at(truth, l, p));
    }
}

TEST_CASE("SGLang stat and per_pass dumps give logical expert counts", "[import][sglang]") {
  std::string bytes = test::read_file(kData / "expected_sglang_logical_count.npy");
  const auto h = detail::parse_npy_header(bytes, "expected");
  const auto want = detail::npy_integers(h, bytes.data() + h.data_offset, h.count(), "expected");
  const ExpertCounts stat = import_expert_counts(kData / "sglang_stat.pt");
  CHECK(stat.num_experts == 8);
  CHECK(stat.layers.size() == 4);
  CHECK(std::vector<int32_t>(stat.counts.begin(), stat.counts.end()) == want);
  const ExpertCounts per_pass = import_expert_counts(kData / "sglang_per_pass.pt");
  CHECK(per_pass.passes == std::vector<int64_t>{100, 101, 102, 103});
  CHECK(std::vector<int32_t>(per_pass.counts.begin(), per_pass.counts.end()) == want);
  const std::string csv = expert_counts_csv(stat);
  CHECK(csv.rfind("pass,layer,expert,count\n0,0,0,0\n", 0) == 0);
  CHECK_THROWS_WITH(import_trace(kData / "sglang_stat.pt"), Catch::Contains("-o counts.csv"));
  CHECK_THROWS_WITH(import_trace(kData / "sglang_per_pass.pt"), Catch::Contains("counts only"));
}

TEST_CASE("SGLang /generate responses: base64 int32 routing shaped by --top-k", "[import][sglang]") {
  const RouterTrace want = load_trace(kData / "expected_requests.safetensors");
  ImportOptions o;
  o.top_k = 2;
  const RouterTrace t = import_trace(kData / "sglang_generate.jsonl", o);
  check_same_rows(t, want);
  CHECK(labels(t) == std::vector<std::string>{"req-A", "req-B"});
  ImportOptions by_layers;
  by_layers.num_layers = 4;
  CHECK(import_trace(kData / "sglang_generate.jsonl", by_layers).topk_ids == want.topk_ids);
  CHECK_THROWS_WITH(import_trace(kData / "sglang_generate.jsonl"), Catch::Contains("--top-k or --num-layers"));
  o.top_k = 3;
  CHECK_THROWS_WITH(import_trace(kData / "sglang_generate.jsonl", o), Catch::Contains("do not split"));
}

TEST_CASE("Megatron-Core router traces with the logits sidecar", "[import][megatron]") {
  ImportReport r;
  const RouterTrace t = import_trace(kData / "megatron" / "router_trace_rank0.jsonl", {}, &r);
  check_same_rows(t, load_trace(kData / "expected_megatron.safetensors"));
  CHECK(labels(t) == std::vector<std::string>{"step 10", "step 11"});
  CHECK(t.num_experts == 8);
  CHECK_FALSE(r.num_experts_inferred);  // logit_shape says 8
  CHECK(t.logits_kind == LogitsKind::Raw);
  CHECK_THAT(r.notes.back(), Catch::Contains("skipped 3 multi-token-prediction"));
}

TEST_CASE("bad JSON Lines records name the file, line and field", "[import]") {
  test::TempDir dir;
  const auto file = dir / "bad.jsonl";
  const std::string good = test::read_file(kData / "vllm_021.jsonl");
  const auto expect = [&](const std::string& text, ImportFormat f, const std::string& fragment, int experts = 8) {
    test::write_file(file, text);
    ImportOptions o = fmt_opts(f);
    o.num_experts = experts;
    CHECK_THROWS_WITH(import_trace(file, o), Catch::Contains(fragment));
  };
  const auto V = ImportFormat::VllmJsonl;
  expect(R"({"prompt_token_ids": [1], "choices": [{"routed_experts": [[[1, 2]], [[3]]]}]})" "\n", V,
         "bad.jsonl:1:70: field 'choices[0].routed_experts[1][0]': has 1 elements but 'choices[0].routed_experts[0][0]' has 2 (ragged array)");
  expect(R"({"choices": [{"routed_experts": [[[1, "x"]]]}]})" "\n", V,
         "field 'choices[0].routed_experts[0][0][1]': expected an integer");
  expect(R"({"choices": [{"routed_experts": [[[1, 9]]]}]})" "\n", V, "bad.jsonl:1: expert id 9 is not in [0, 8)");
  expect(R"({"choices": [{"routed_experts": [[[1, 2]]]}]})" "\n" R"({"choices": [{"routed_experts": [[[1,)", V,
         "bad.jsonl:2:38: invalid JSON");
  expect(R"({"choices": [{"routed_experts": [[[1, 2]]]}]})" "\n" R"({"choices": [{"routed_experts": [[[1,)", V,
         "(the file ends in the middle of this line: truncated?)");
  expect("", V, "the file is empty");
  expect("\n\n", V, "no JSON records");
  expect(R"({"choices": [{"text": "x"}]})" "\n", V, "no routed_experts (was vLLM started with --enable-return-routed-experts?)");
  expect(R"({"choices": [{"routed_experts": "!!!"}]})" "\n", V, "is not base64");
  const auto M = ImportFormat::MegatronTrace;
  expect(R"({"step": 1, "layer": 1, "num_tokens": 2, "topk": 2, "top_indices": [[1, 2]]})" "\n", M,
         "field 'top_indices': has 1 rows but num_tokens is 2");
  expect(R"({"step": 2, "layer": 1, "num_tokens": 1, "topk": 2, "top_indices": [[1, 2]]})" "\n"
         R"({"step": 1, "layer": 1, "num_tokens": 1, "topk": 2, "top_indices": [[1, 2]]})" "\n",
         M, "bad.jsonl:2:10: field 'step': step 1 comes after step 2");
  expect(R"({"step": 1, "layer": 1, "num_tokens": 1, "topk": 2, "top_indices": [[1, 2]]})" "\n"
         R"({"step": 1, "layer": 2, "num_tokens": 2, "topk": 2, "top_indices": [[1, 2], [0, 1]]})" "\n",
         M, "bad.jsonl:1-2: step 1: layer 2 has 2 tokens but layer 1 has 1");
  // CRLF reads like LF.
  std::string dos;
  for (char c : good) dos += c == '\n' ? std::string("\r\n") : std::string(1, c);
  test::write_file(file, dos);
  CHECK(import_trace(file, fmt_opts(V)).topk_ids == import_trace(kData / "vllm_021.jsonl").topk_ids);
  // --skip-bad-lines keeps the good records and counts the rest.
  test::write_file(file, good + "{\"choices\": [{\"routed_experts\": 5}]}\n" + good);
  ImportOptions skip = fmt_opts(V);
  skip.skip_bad_lines = true;
  ImportReport r;
  CHECK(import_trace(file, skip, &r).sequences.size() == 4);
  CHECK(r.bad_records == 1);
  CHECK_THAT(r.first_bad, Catch::Contains("bad.jsonl:3"));
}

TEST_CASE("damaged binary dumps are refused with a reason", "[import]") {
  test::TempDir dir;
  const auto file = dir / "bad.pt";
  const std::string pt = test::read_file(kData / "sglang_per_token.pt");
  test::write_file(file, pt.substr(0, pt.size() / 2));
  CHECK_THROWS_WITH(import_trace(file, fmt_opts(ImportFormat::SglangDump)), Catch::Contains("truncated"));
  const std::string npy = test::read_file(kData / "vllm_routed_a.npy");
  test::write_file(dir / "bad.npy", npy.substr(0, npy.size() - 10));
  CHECK_THROWS_WITH(import_trace(dir / "bad.npy"), Catch::Contains("truncated?"));
  test::write_file(dir / "empty.npy", "");
  CHECK_THROWS_WITH(import_trace(dir / "empty.npy"), Catch::Contains("the file is empty"));
}

TEST_CASE("mutated fixtures of every format import or fail cleanly", "[import][fuzz]") {
  test::TempDir dir;
  const std::pair<const char*, ImportFormat> cases[] = {
      {"vllm_033.jsonl", ImportFormat::VllmJsonl},      {"vllm_021.jsonl", ImportFormat::VllmJsonl},
      {"vllm_request_a.npz", ImportFormat::VllmNpz},    {"vllm_routed_a.npy", ImportFormat::VllmNpy},
      {"sglang_per_token.pt", ImportFormat::SglangDump}, {"sglang_generate.jsonl", ImportFormat::SglangJsonl},
      {"megatron/router_trace_rank0.jsonl", ImportFormat::MegatronTrace},
  };
  unsigned seed = 1;
  for (const auto& [file, format] : cases) {
    INFO(file);
    ImportOptions o = fmt_opts(format);
    o.num_experts = 10;
    o.top_k = 2;
    const std::string good = test::read_file(kData / file);
    const auto name = dir / std::filesystem::path(file).filename();
    if (format == ImportFormat::MegatronTrace)  // the sidecar must sit beside the trace
      std::filesystem::copy_file(kData / "megatron" / "logits_rank0.bin", dir / "logits_rank0.bin",
                                 std::filesystem::copy_options::overwrite_existing);
    CHECK(test::fuzz_import(good, name, o, 150, seed++) > 0);
    o.skip_bad_lines = true;
    test::fuzz_import(good, name, o, 60, seed++);
  }
}

TEST_CASE("the pickle reader builds plain data and refuses the rest", "[import][pickle]") {
  // Hand-assembled protocol 2 pickles (opcodes: Python's pickletools).
  const auto p = [](const std::string& body) { return std::string("\x80\x02", 2) + body + "."; };
  // {"a": 7, "b": [1, 2]}; literals are split so that \x escapes end where meant.
  const std::string str1 = std::string("X\x01\x00\x00\x00", 5);
  auto v = detail::unpickle(p(std::string("}q\x00(", 4) + str1 + "a" + "K\x07" + str1 + "b" + "]q\x01(K\x01K\x02" + "eu"), "test");
  REQUIRE(v->kind == detail::PyValue::Kind::Dict);
  CHECK(v->get("a")->integer == 7);
  CHECK(v->get("b")->ints == std::vector<int64_t>{1, 2});
  // A class other than tensors and dicts is never called.
  CHECK_THROWS_AS(detail::unpickle(p(std::string("cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R", 22)), "test"), UnsupportedError);
  // A list appended into itself (a cycle) is refused.
  CHECK_THROWS_AS(detail::unpickle(p(std::string("]q\x00h\x00", 5) + "a"), "test"), UnsupportedError);
  CHECK_THROWS_WITH(detail::unpickle(p(std::string("]q\x00(K\x01", 6)), "test"), Catch::Contains("values left on the stack"));
  CHECK_THROWS_WITH(detail::unpickle(std::string("\x80\x02]", 3), "test"), Catch::Contains("truncated?"));
  CHECK_THROWS_WITH(detail::unpickle(p("h\x05"), "test"), Catch::Contains("never stored"));
  // Fuzz the real dump's data.pkl.
  detail::ZipReader zip(kData / "sglang_per_token.pt");
  const std::string pkl = zip.read_all(*zip.find_suffix("data.pkl"));
  std::mt19937 rng(99);
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string s = pkl;
    for (int e = 0; e < 1 + static_cast<int>(rng() % 3); ++e) s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
    if (rng() % 4 == 0) s.resize(rng() % s.size());
    try {
      detail::unpickle(s, "fuzz");
    } catch (const InputError&) {
      ++refused;
    }
  }
  CHECK(refused > 500);
}

TEST_CASE("for_each_trace_chunk streams imports; whole_sequences keeps every sequence in one chunk", "[import]") {
  // vLLM 0.33: request A (8 rows), then B (5 rows), read in chunks of 3 rows.
  TraceInputOptions o;
  o.import.chunk_rows = 3;
  const RouterTrace want = load_trace(kData / "expected_vllm_033.safetensors");
  auto read = [&](bool whole) {
    o.whole_sequences = whole;
    std::vector<RouterTrace> chunks;
    for_each_trace_chunk(kData / "vllm_033.jsonl", [&](const RouterTrace& t, const TraceChunkInfo& info) {
      CHECK(info.format == "vllm-jsonl");
      CHECK(info.num_chunks == -1);
      chunks.push_back(t);
    }, o);
    return chunks;
  };
  const auto pieces = read(false);
  CHECK(pieces.size() >= 4);  // at most 3 rows each: sequences split over chunks
  const auto whole = read(true);
  REQUIRE(whole.size() == 2);
  CHECK(sequence_order(whole[0]) == std::vector<int64_t>{want.sequence_ids.front()});
  CHECK(whole[0].num_positions + whole[1].num_positions == want.num_positions);
  std::vector<RouterTrace> parts(whole.begin(), whole.end());
  check_same_rows(detail::concat_rows(std::move(parts)), want);
  // A moeroute trace is one chunk, whatever the import options say.
  int n = 0;
  for_each_trace_chunk(kData / "truth_a.safetensors", [&](const RouterTrace&, const TraceChunkInfo& info) {
    CHECK(info.format == "trace");
    ++n;
  }, o);
  CHECK(n == 1);
}
