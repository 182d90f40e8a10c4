// Safetensors reading/writing and the trace format (docs/trace-format.md), including damaged files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <fstream>
#include <sstream>

#include "moeroute/error.h"
#include "moeroute/safetensors.h"
#include "moeroute/trace_io.h"
#include "temp_dir.h"
#include "trace_fixtures.h"

using namespace moeroute;

namespace {
std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
void write_all(const std::filesystem::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}
// A file made of an explicit header JSON and data bytes.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}
}  // namespace

TEST_CASE("safetensors layout follows the format byte for byte", "[safetensors]") {
  SafetensorsWriter w;
  const int32_t v[2] = {1, -2};
  w.add("a", Dtype::I32, {2}, std::string_view(reinterpret_cast<const char*>(v), 8));
  w.set_metadata({{"k", "v"}});
  const std::string s = w.serialize();
  uint64_t n = 0;
  std::memcpy(&n, s.data(), 8);
  CHECK(n % 8 == 0);  // header padded to 8 bytes
  const std::string header = s.substr(8, n);
  CHECK(header.rfind(R"({"__metadata__":{"k":"v"},"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", 0) == 0);
  CHECK(s.size() == 8 + n + 8);
  CHECK(std::memcmp(s.data() + 8 + n, v, 8) == 0);
}

TEST_CASE("half and bfloat16 conversions round to nearest even", "[safetensors]") {
  CHECK(float_to_f16(1.0f) == 0x3c00);
  CHECK(float_to_f16(-2.0f) == 0xc000);
  CHECK(float_to_f16(65504.0f) == 0x7bff);
  CHECK(float_to_f16(65520.0f) == 0x7c00);          // rounds up to +inf
  CHECK(float_to_f16(5.960464477539063e-08f) == 1);  // smallest subnormal 2^-24
  CHECK(float_to_f16(2.9802322387695312e-08f) == 0); // 2^-25: tie, rounds to even (0)
  CHECK(float_to_f16(1.0f + 1.0f / 2048) == 0x3c00); // tie between 1 and 1+2^-10 → even
  // Widening is exact: every f16/bf16 value is a float.
  CHECK(f16_to_float(0x3555) == 0.333251953125f);
  CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(bf16_to_float(0x4049) == 3.140625f);
  CHECK(float_to_bf16(1.00390625f) == 0x3f80);       // tie → even
  // Rounding to nearest keeps the relative error within half an ulp: 2^-11 for f16's 10 stored
  // significand bits, 2^-8 for bf16's 7 (these values are normal in both).
  for (float x : {0.1f, -3.5f, 1e-3f, 1234.5f}) {
    CHECK(f16_to_float(float_to_f16(x)) == Approx(x).epsilon(std::ldexp(1.0, -11)));
    CHECK(bf16_to_float(float_to_bf16(x)) == Approx(x).epsilon(std::ldexp(1.0, -8)));
  }
}

TEST_CASE("a trace survives the round trip field by field", "[trace_io]") {
  test::TempDir dir;
  RouterTrace t = test::random_trace(3, 8, 2, 7, 3, 42);
  t.token_text = {"a", "b", "c,", "\"d\"", "é", "\n", "<|end|>"};
  t.meta.source = "unit-test";
  t.meta.extra = {{"note", "x"}};
  save_trace(t, dir / "t.safetensors");
  const RouterTrace r = load_trace(dir / "t.safetensors");
  CHECK(r.meta.model_id == t.meta.model_id);
  CHECK(r.meta.source == "unit-test");
  CHECK(r.meta.routing_rule == t.meta.routing_rule);
  CHECK(r.meta.extra == t.meta.extra);
  CHECK(r.num_experts == 8);
  CHECK(r.top_k == 2);
  CHECK(r.num_positions == 7);
  CHECK(r.prompt_length == 3);
  REQUIRE(r.layers.size() == 3);
  CHECK(r.layers[2].name == "model.layers.2.mlp.gate");
  CHECK(r.layers[2].index == 2);
  CHECK(r.token_ids == t.token_ids);
  CHECK(r.token_text == t.token_text);
  CHECK(r.topk_ids == t.topk_ids);
  CHECK(r.gate_weights == t.gate_weights);
  CHECK(r.router_logits == t.router_logits);
  // No temporary files are left beside the output.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
}

TEST_CASE("logits can be stored as F16 or BF16", "[trace_io]") {
  test::TempDir dir;
  const RouterTrace t = test::random_trace(2, 4, 1, 3, 1, 7);
  for (LogitsDtype d : {LogitsDtype::F16, LogitsDtype::BF16}) {
    save_trace(t, dir / "t.safetensors", {d});
    const RouterTrace r = load_trace(dir / "t.safetensors");
    SafetensorsFile f(dir / "t.safetensors");
    CHECK(f.info("router_logits").dtype == (d == LogitsDtype::F16 ? Dtype::F16 : Dtype::BF16));
    // Half an ulp, relative (2^-11 for f16, 2^-8 for bf16); below f16's smallest normal 2^-14 its
    // subnormals are 2^-24 apart, so half of that absolute.
    for (size_t i = 0; i < t.router_logits.size(); ++i)
      CHECK(r.router_logits[i] == Approx(t.router_logits[i])
                                      .epsilon(std::ldexp(1.0, d == LogitsDtype::F16 ? -11 : -8))
                                      .margin(std::ldexp(1.0, -25)));
  }
}

TEST_CASE("a trace without optional fields round-trips", "[trace_io]") {
  test::TempDir dir;
  RouterTrace t = test::random_trace(1, 4, 2, 3, 1, 9);
  t.router_logits.clear();
  t.gate_weights.clear();
  t.token_ids.clear();
  save_trace(t, dir / "t.safetensors");
  const RouterTrace r = load_trace(dir / "t.safetensors");
  CHECK_FALSE(r.has_router_logits());
  CHECK_FALSE(r.has_gate_weights());
  CHECK_FALSE(r.has_token_ids());
  CHECK(r.fields() == std::vector<std::string>{"topk_ids"});
}

TEST_CASE("multi-sequence traces with explicit meaning round-trip as version 2", "[trace_io]") {
  test::TempDir dir;
  RouterTrace t = test::random_trace(2, 6, 2, 5, 0, 11);
  t.sequence_ids = {7, 7, 7, 9, 9};
  t.positions = {0, 1, 2, 0, 1};
  t.segments = {0, 0, 1, 0, 1};
  t.sequences = {{7, "lambada", 2.5, 3}, {9, "wikitext", std::nan(""), 2}};
  t.logits_kind = LogitsKind::Scores;
  t.id_space = ExpertIdSpace::Physical;
  t.num_logical_experts = 4;
  t.physical_to_logical = {0, 1, 2, 3, 0, 1, 3, 2, 1, 0, 0, 1};
  save_trace(t, dir / "t.safetensors");
  SafetensorsFile f(dir / "t.safetensors");
  CHECK(f.metadata().at("moeroute.format_version") == "2");
  CHECK(f.info("segments").dtype == Dtype::U8);
  const RouterTrace r = load_trace(dir / "t.safetensors");
  CHECK(r.sequence_ids == t.sequence_ids);
  CHECK(r.positions == t.positions);
  CHECK(r.segments == t.segments);
  CHECK(r.physical_to_logical == t.physical_to_logical);
  CHECK(r.num_logical_experts == 4);
  CHECK(r.logits_kind == LogitsKind::Scores);
  CHECK(r.id_space == ExpertIdSpace::Physical);
  REQUIRE(r.sequences.size() == 2);
  CHECK(r.sequences[0].label == "lambada");
  CHECK(r.sequences[0].loss == 2.5);
  CHECK(std::isnan(r.sequences[1].loss));
  CHECK(r.sequence_of(3) == 9);
  CHECK(r.position_of(4) == 1);
  CHECK(r.is_prompt(3));
  CHECK_FALSE(r.is_prompt(4));
}

TEST_CASE("a single-sequence trace is still written as version 1", "[trace_io]") {
  test::TempDir dir;
  save_trace(test::random_trace(1, 4, 1, 3, 1, 5), dir / "t.safetensors");
  CHECK(SafetensorsFile(dir / "t.safetensors").metadata().at("moeroute.format_version") == "1");
}

TEST_CASE("inconsistent per-row arrays are refused", "[trace_io]") {
  RouterTrace t = test::random_trace(1, 4, 1, 3, 0, 5);
  t.sequence_ids = {0, 0, 1};
  t.sequences = {{0, "", std::nan(""), 2}};
  CHECK_THROWS_WITH(t.validate("t"), Catch::Contains("row 2 belongs to sequence 1"));
  t.sequences.clear();
  t.prompt_length = 1;
  CHECK_THROWS_WITH(t.validate("t"), Catch::Contains("prompt_length must be 0"));
  t.prompt_length = 0;
  t.segments = {0, 2, 1};
  CHECK_THROWS_WITH(t.validate("t"), Catch::Contains("segments[1] = 2"));
  t.segments.clear();
  t.physical_to_logical = {0, 1, 2, 3};
  CHECK_THROWS_WITH(t.validate("t"), Catch::Contains("only meaningful for physical"));
  t.id_space = ExpertIdSpace::Physical;
  t.num_logical_experts = 2;
  CHECK_THROWS_WITH(t.validate("t"), Catch::Contains("physical_to_logical[layer 0, slot 2] = 2"));
}

TEST_CASE("damaged files are rejected with a message naming the problem", "[trace_io]") {
  test::TempDir dir;
  const auto good = dir / "good.safetensors";
  save_trace(test::random_trace(2, 4, 2, 5, 2, 3), good);
  const std::string bytes = read_all(good);
  const auto bad = dir / "bad.safetensors";
  auto expect_error = [&](const std::string& content, const std::string& fragment) {
    write_all(bad, content);
    CHECK_THROWS_WITH(load_trace(bad), Catch::Contains("bad.safetensors") && Catch::Contains(fragment));
  };
  SECTION("empty and truncated") {
    expect_error("", "truncated");
    expect_error(bytes.substr(0, 5), "truncated");
    expect_error(bytes.substr(0, 20), "truncated");
    expect_error(bytes.substr(0, bytes.size() - 1), "truncated");
  }
  SECTION("absurd header length") {
    std::string s = bytes;
    s[7] = '\x7f';
    expect_error(s, "header length");
  }
  SECTION("header is not JSON") {
    std::string s = bytes;
    s[8] = '[';
    s[9] = '[';
    expect_error(s, "invalid JSON");
  }
  SECTION("offsets that do not match the shape") {
    expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"), "needs 8");
  }
  SECTION("gaps between tensors") {
    expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", "abc"), "gap or overlap");
  }
  SECTION("unknown dtype") {
    expect_error(raw_file(R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", std::string(16, 'x')),
                 "unsupported dtype 'F128'");
  }
  SECTION("a safetensors file that is not a trace") {
    expect_error(raw_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"), "not a moeroute trace");
  }
  SECTION("shape disagreeing with the metadata") {
    SafetensorsWriter w;
    w.set_metadata(SafetensorsFile(good).metadata());
    w.add("topk_ids", Dtype::I32, {2, 4, 2}, std::string(2 * 4 * 2 * 4, '\0'));
    expect_error(w.serialize(), "tensor 'topk_ids' has shape [2, 4, 2], expected [2, 5, 2]");
  }
  SECTION("expert ids out of range") {
    SafetensorsFile f(good);
    SafetensorsWriter w;
    w.set_metadata(f.metadata());
    std::vector<int32_t> ids(2 * 5 * 2, 0);
    ids[3] = 9;
    w.add("topk_ids", Dtype::I32, {2, 5, 2}, std::string_view(reinterpret_cast<const char*>(ids.data()), ids.size() * 4));
    expect_error(w.serialize(), "not an expert id");
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(load_trace(dir / "nope.safetensors"), Catch::Contains("nope.safetensors") && Catch::Contains("cannot open"));
  }
}

TEST_CASE("randomly corrupted traces either load or throw InputError", "[trace_io][fuzz]") {
  test::TempDir dir;
  const auto good = dir / "good.safetensors";
  save_trace(test::random_trace(2, 4, 2, 5, 2, 3), good);
  const std::string bytes = read_all(good);
  std::mt19937 rng(1234);
  const auto bad = dir / "bad.safetensors";
  int rejected = 0;
  for (int i = 0; i < 400; ++i) {
    std::string s = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      // Mostly the length and header, sometimes the data.
      const size_t at = rng() % 4 == 0 ? rng() % s.size() : rng() % std::min<size_t>(s.size(), 400);
      s[at] = static_cast<char>(rng() & 0xff);
    }
    if (rng() % 5 == 0) s.resize(rng() % s.size());
    write_all(bad, s);
    try {
      load_trace(bad);
    } catch (const InputError&) {
      ++rejected;
    }
  }
  CHECK(rejected > 200);
}
