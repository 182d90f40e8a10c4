// Checkpoint directories: single file, sharded index, and every way they can be damaged.
#include <catch2/catch.hpp>

#include <fstream>
#include <cstring>
#include <functional>

#include "moeroute/checkpoint.h"
#include "moeroute/error.h"
#include "unit/temp_dir.h"

using namespace moeroute;

namespace {

void write(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

std::string floats(std::initializer_list<float> v) {
  return {reinterpret_cast<const char*>(v.begin()), v.size() * sizeof(float)};
}

// Two shards: a.safetensors {x [2] F32, y [1,2] BF16}, b.safetensors {z [3] U8}.
void make_sharded(const test::TempDir& dir, const std::string& index) {
  SafetensorsWriter a;
  a.add("x", Dtype::F32, {2}, floats({1.f, 2.f}));
  const uint16_t y[2] = {float_to_bf16(0.5f), float_to_bf16(-3.f)};
  a.add("y", Dtype::BF16, {1, 2}, std::string(reinterpret_cast<const char*>(y), 4));
  write(dir / "a.safetensors", a.serialize());
  SafetensorsWriter b;
  b.add("z", Dtype::U8, {3}, std::string("\x01\x02\x03", 3));
  write(dir / "b.safetensors", b.serialize());
  write(dir / "model.safetensors.index.json", index);
}

const char* kIndex = R"({"metadata": {"total_size": 15},
  "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}})";

std::string error_of(const std::filesystem::path& dir) {
  try {
    Checkpoint c(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("opened a damaged checkpoint");
  return {};
}

}  // namespace

TEST_CASE("single-file checkpoint", "[checkpoint]") {
  test::TempDir dir;
  SafetensorsWriter w;
  w.add("w", Dtype::F32, {2, 1}, floats({4.f, 5.f}));
  write(dir / "model.safetensors", w.serialize());
  Checkpoint c(dir.path());
  REQUIRE(c.files().size() == 1);
  CHECK(c.names() == std::vector<std::string>{"w"});
  CHECK(c.info("w").shape == std::vector<int64_t>{2, 1});
  const auto b = c.bytes("w");
  REQUIRE(b.size() == 8);
  float v[2];
  std::memcpy(v, b.data(), 8);
  CHECK(v[1] == 5.f);
  CHECK(c.total_bytes() == 8);
  CHECK_NOTHROW(c.expect_shape("w", {2, 1}, "test"));
  try {
    c.expect_shape("w", {1, 2}, "hidden_size");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("model.safetensors") && Catch::Contains("'w'") && Catch::Contains("[2, 1]") &&
                             Catch::Contains("[1, 2]") && Catch::Contains("hidden_size"));
  }
  CHECK_THROWS_WITH(c.info("nope"), Catch::Contains("'nope'") && Catch::Contains(dir.path().string()));
}

TEST_CASE("sharded checkpoint through the index", "[checkpoint]") {
  test::TempDir dir;
  make_sharded(dir, kIndex);
  Checkpoint c(dir.path());
  CHECK(c.files().size() == 2);
  CHECK(c.names() == std::vector<std::string>{"x", "y", "z"});
  CHECK(c.file_of("z").path().filename() == "b.safetensors");
  CHECK(c.info("y").dtype == Dtype::BF16);
  CHECK(c.bytes("z") == std::string("\x01\x02\x03", 3));
  CHECK(c.total_bytes() == 15);
}

TEST_CASE("damaged checkpoints are refused naming file and tensor", "[checkpoint]") {
  SECTION("no weights at all") {
    test::TempDir dir;
    CHECK_THAT(error_of(dir.path()), Catch::Contains("model.safetensors.index.json"));
  }
  SECTION("missing shard") {
    test::TempDir dir;
    make_sharded(dir, kIndex);
    std::filesystem::remove(dir / "b.safetensors");
    CHECK_THAT(error_of(dir.path()), Catch::Contains("b.safetensors") && Catch::Contains("'z'") &&
                                         Catch::Contains("missing"));
  }
  SECTION("shard shorter than its header says") {
    test::TempDir dir;
    make_sharded(dir, kIndex);
    std::filesystem::resize_file(dir / "a.safetensors", std::filesystem::file_size(dir / "a.safetensors") - 2);
    CHECK_THAT(error_of(dir.path()), Catch::Contains("a.safetensors") && Catch::Contains("truncated"));
  }
  SECTION("shard longer than its header says") {
    test::TempDir dir;
    make_sharded(dir, kIndex);
    std::ofstream(dir / "b.safetensors", std::ios::app | std::ios::binary) << "junk";
    CHECK_THAT(error_of(dir.path()), Catch::Contains("b.safetensors") && Catch::Contains("data section"));
  }
  SECTION("index names a tensor its shard lacks") {
    test::TempDir dir;
    make_sharded(dir, R"({"weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors",
                                         "w": "b.safetensors"}})");
    CHECK_THAT(error_of(dir.path()), Catch::Contains("'w'") && Catch::Contains("b.safetensors"));
  }
  SECTION("index points a tensor at the wrong shard") {
    test::TempDir dir;
    make_sharded(dir, R"({"weight_map": {"x": "b.safetensors", "y": "a.safetensors", "z": "b.safetensors"}})");
    CHECK_THAT(error_of(dir.path()), Catch::Contains("'x'") && Catch::Contains("stored in 'a.safetensors'"));
  }
  SECTION("tensor stored twice") {
    test::TempDir dir;
    make_sharded(dir, kIndex);
    SafetensorsWriter b;
    b.add("x", Dtype::U8, {1}, std::string("\x01", 1));
    write(dir / "b.safetensors", b.serialize());
    CHECK_THAT(error_of(dir.path()), Catch::Contains("'x'") && Catch::Contains("twice"));
  }
  SECTION("malformed index") {
    test::TempDir dir;
    make_sharded(dir, R"({"weight_map": {"x": 3}})");
    CHECK_THAT(error_of(dir.path()), Catch::Contains("field 'weight_map.x': expected a string, got integer 3"));
    write(dir / "model.safetensors.index.json", "{");
    CHECK_THAT(error_of(dir.path()), Catch::Contains("JSON"));
    write(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "../a.safetensors"}})");
    CHECK_THAT(error_of(dir.path()), Catch::Contains("not a file name"));
  }
  SECTION("not a directory") {
    CHECK_THAT(error_of("/nonexistent-moeroute-dir"), Catch::Contains("not a directory"));
  }
}
