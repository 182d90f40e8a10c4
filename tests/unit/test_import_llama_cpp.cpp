// The llama.cpp expert-selection log importer (docs/import.md, "llama.cpp"), including the
// seed's exact example lines and the bad input the issue lists. Expected values are written
// out by hand from the format's definition.
#include <catch2/catch.hpp>

#include "import_test_util.h"

using namespace moeroute;
using test::ids_at;

namespace {

ImportOptions llama(int experts = 0) {
  ImportOptions o;
  o.format = ImportFormat::LlamaCppExperts;
  o.num_experts = experts;
  return o;
}

// Two MoE layers (3, 4), top-2: a 3-token prompt pass, two decode passes, then a new request
// with a 2-token prompt and one decode pass.
const char* kTwoRequests =
    "layer_id,expert_ids\n"
    "3,1 2\n3,3 4\n3,5 6\n4,0 7\n4,2 1\n4,6 5\n"  // pass 1: prompt, positions 0-2
    "3,7 0\n4,1 0\n"                               // pass 2: decode, position 3
    "3,2 3\n4,4 5\n"                               // pass 3: decode, position 4
    "3,6 7\n3,0 1\n4,3 2\n4,5 4\n"                 // pass 4: new prompt, positions 0-1
    "3,1 3\n4,2 0\n";                              // pass 5: decode, position 2

}  // namespace

TEST_CASE("the seed's example lines import as written", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto file = dir / "moe_expert_selection.log";
  // Seed 003, "Expert Selection Log Format", verbatim.
  test::write_file(file, "layer_id,expert_ids\n3,52 40 85 110 79 113 60 130\n3,32 115 108 7 141 124 11 3\n");
  ImportReport report;
  const RouterTrace t = import_trace(file, llama(160), &report);
  REQUIRE(t.num_layers() == 1);
  CHECK(t.layers[0].index == 3);
  CHECK(t.layers[0].name == "layers.3");
  CHECK(t.top_k == 8);
  CHECK(t.num_experts == 160);
  REQUIRE(t.num_positions == 2);
  CHECK(ids_at(t, 0, 0) == std::vector<int32_t>{52, 40, 85, 110, 79, 113, 60, 130});
  CHECK(ids_at(t, 0, 1) == std::vector<int32_t>{32, 115, 108, 7, 141, 124, 11, 3});
  CHECK(t.sequence_ids == std::vector<int64_t>{0, 0});
  CHECK(t.positions == std::vector<int64_t>{0, 1});
  CHECK(t.segments == std::vector<uint8_t>{0, 0});
  CHECK_FALSE(t.has_token_ids());
  CHECK(report.format == ImportFormat::LlamaCppExperts);
  CHECK(report.rows == 2);
  CHECK_FALSE(report.num_experts_inferred);
  // Auto-detection recognises it from the header line and from a bare data line.
  CHECK(detect_import_format(file) == ImportFormat::LlamaCppExperts);
  test::write_file(file, "3,52 40 85 110 79 113 60 130\n");
  CHECK(detect_import_format(file) == ImportFormat::LlamaCppExperts);
}

TEST_CASE("positions and sequences are reconstructed from the layer order", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto file = dir / "log.csv";
  test::write_file(file, kTwoRequests);
  const RouterTrace t = import_trace(file, llama(8));
  REQUIRE(t.num_layers() == 2);
  CHECK(t.layers[1].index == 4);
  REQUIRE(t.num_positions == 8);
  CHECK(t.sequence_ids == std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1});
  CHECK(t.positions == std::vector<int64_t>{0, 1, 2, 3, 4, 0, 1, 2});
  CHECK(t.segments == std::vector<uint8_t>{0, 0, 0, 1, 1, 0, 0, 1});
  // Row r of layer 4 is the r-th layer-4 line of its pass.
  CHECK(ids_at(t, 0, 2) == std::vector<int32_t>{5, 6});
  CHECK(ids_at(t, 1, 2) == std::vector<int32_t>{6, 5});
  CHECK(ids_at(t, 1, 3) == std::vector<int32_t>{1, 0});
  CHECK(ids_at(t, 0, 6) == std::vector<int32_t>{0, 1});
  CHECK(ids_at(t, 1, 7) == std::vector<int32_t>{2, 0});
  REQUIRE(t.sequences.size() == 2);
  CHECK(t.sequences[0].num_tokens == 5);
  CHECK(t.sequences[1].num_tokens == 3);
}

TEST_CASE("chunks of any size concatenate to the same trace", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto file = dir / "log.csv";
  test::write_file(file, kTwoRequests);
  ImportOptions whole = llama(8);
  const RouterTrace all = import_trace(file, whole);
  for (int64_t rows : {1, 2, 3, 5}) {
    ImportOptions o = llama(8);
    o.chunk_rows = rows;
    const auto chunks = test::chunks_of(file, o);
    CHECK(static_cast<int64_t>(chunks.size()) == (8 + rows - 1) / rows);
    RouterTrace joined;
    for (auto c : chunks) append_rows(joined, std::move(c));
    CHECK(joined.topk_ids == all.topk_ids);
    CHECK(joined.positions == all.positions);
    CHECK(joined.sequence_ids == all.sequence_ids);
    CHECK(joined.segments == all.segments);
    REQUIRE(joined.sequences.size() == 2);
    CHECK(joined.sequences[0].num_tokens == 5);
  }
}

TEST_CASE("without --num-experts the expert count is inferred and reported", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto file = dir / "log.csv";
  test::write_file(file, kTwoRequests);
  ImportReport report;
  const RouterTrace t = import_trace(file, llama(), &report);
  CHECK(t.num_experts == 8);  // the largest id in the log is 7
  CHECK(report.num_experts_inferred);
  REQUIRE_FALSE(report.notes.empty());
  CHECK_THAT(report.notes.front(), Catch::Contains("largest expert id + 1 = 8"));
  CHECK_THROWS_WITH(import_trace("-", llama()), Catch::Contains("--num-experts"));
}

TEST_CASE("gate_input lines in the same log are skipped and counted", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto file = dir / "mixed.log";
  test::write_file(file, "gate_input,3,0,0.1 0.2\n3,1 2\ngate_input,4,0,0.3 0.4\n4,3 0\n");
  ImportReport report;
  const RouterTrace t = import_trace(file, llama(4), &report);
  CHECK(t.num_layers() == 2);
  CHECK(t.num_positions == 1);
  CHECK_THAT(report.notes.back(), Catch::Contains("skipped 2 gate_input lines"));
  CHECK(detect_import_format(file) == ImportFormat::LlamaCppExperts);
  test::write_file(file, "gate_input,3,0,0.1 0.2\n");
  CHECK_THROWS_WITH(detect_import_format(file), Catch::Contains("moeroute gate-inputs"));
}

TEST_CASE("CRLF line endings read like LF", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto lf = dir / "lf.csv", crlf = dir / "crlf.csv";
  std::string text = kTwoRequests, dos;
  for (char c : text) dos += c == '\n' ? std::string("\r\n") : std::string(1, c);
  test::write_file(lf, text);
  test::write_file(crlf, dos);
  CHECK(import_trace(crlf, llama(8)).topk_ids == import_trace(lf, llama(8)).topk_ids);
  // And a last line without any terminator.
  text.pop_back();
  test::write_file(lf, text);
  CHECK(import_trace(lf, llama(8)).num_positions == 8);
}

TEST_CASE("bad expert logs fail with the line and column", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto file = dir / "bad.csv";
  const auto expect = [&](const std::string& text, const std::string& fragment, int experts = 8) {
    test::write_file(file, text);
    CHECK_THROWS_WITH(import_trace(file, llama(experts)), Catch::Contains(fragment));
  };
  expect("3,1 2\n3 1 2\n", "bad.csv:2:2: expected ',' after the layer number");
  expect("3,1 2\nx,1 2\n", "bad.csv:2:1: expected a layer number, got 'x'");
  expect("3,1 2\n3,1 b\n", "bad.csv:2:5: expected an expert id (a non-negative integer), got 'b'");
  expect("3,1 2\n3,1 -2\n", "bad.csv:2:5: expected an expert id");
  expect("3,1 2\n3,1 2.5\n", "bad.csv:2:5: expected an expert id");
  expect("3,1 2\n3,1 9\n", "bad.csv:2:5: expert id 9 is not in [0, 8) (--num-experts)");
  expect("3,1 2\n3,1 2 3\n", "bad.csv:2:8: 3 expert ids, but the first line has 2 (top-k)");
  expect("3,1 2\n3,\n", "bad.csv:2:3: no expert ids");
  expect("3,1 2\n4,1 2\n3,1 2\n3,0 1\n4,1 2\n", "bad.csv:3-5: forward pass with 2 lines for layer 3 but 1 for layer 4");
  expect("3,1 2\n4,1 2\n3,1 2\n", "bad.csv:3-3: forward pass over layers 3 but the first pass had layers 3,4");
  // A file cut off in the middle of its last line says so.
  expect("3,1 2\n3,1", "bad.csv:2:4: 1 expert ids, but the first line has 2 (top-k) (the file ends in the middle of this line: truncated?)");
  expect("", "the file is empty", 0);
  expect("layer_id,expert_ids\n", "no 'layer_id,expert_ids' lines");
  CHECK_THROWS_WITH(import_trace(dir / "missing.csv", llama(8)), Catch::Contains("missing.csv: no such file"));
  CHECK_THROWS_WITH(import_trace(dir.path(), llama(8)), Catch::Contains("is a directory"));
}

TEST_CASE("skipping bad lines counts them and keeps the rest", "[import][llama.cpp]") {
  test::TempDir dir;
  const auto file = dir / "bad.csv";
  // Line 2 is bad: pass 1 loses a layer-3 token and is dropped whole; pass 2 survives.
  test::write_file(file, "3,1 2\n3,x 2\n4,0 1\n4,1 0\n3,2 3\n4,3 2\n");
  ImportOptions o = llama(8);
  o.skip_bad_lines = true;
  ImportReport report;
  const RouterTrace t = import_trace(file, o, &report);
  CHECK(report.bad_records == 2);  // the bad line and the pass it left uneven
  CHECK_THAT(report.first_bad, Catch::Contains("bad.csv:2:3"));
  REQUIRE(t.num_positions == 1);
  CHECK(ids_at(t, 0, 0) == std::vector<int32_t>{2, 3});
  CHECK(t.meta.extra.at("import.bad_records") == "2");
}

TEST_CASE("mutated expert logs import or fail cleanly", "[import][llama.cpp][fuzz]") {
  test::TempDir dir;
  const int refused = test::fuzz_import(kTwoRequests, dir / "fuzz.csv", llama(8), 500, 20240601, "0123456789 ,\n\r-x");
  CHECK(refused > 50);
  ImportOptions skip = llama(8);
  skip.skip_bad_lines = true;
  test::fuzz_import(kTwoRequests, dir / "fuzz.csv", skip, 300, 7);
}
