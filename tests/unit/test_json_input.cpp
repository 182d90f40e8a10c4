// The input layer: parse_json, JsonField and read_text_file, whose errors name the file, the
// line and column, the field path and what was expected.
#include <catch2/catch.hpp>

#include <fstream>

#include "error_of.h"
#include "io/json_input.h"
#include "io/text_file.h"
#include "moeroute/error.h"
#include "unit/temp_dir.h"

using namespace moeroute;
using test::error_of;
using detail::JsonField;
using Catch::Matchers::Contains;

namespace {

const char* kDoc = R"({
  "name": "x",
  "layers": [
    {"index": 0},
    {"index": "one"}
  ],
  "nested": {"deep": {"value": 1.5, "escaped\"key": true}}
})";

}  // namespace

TEST_CASE("invalid JSON points at the offending token's line and column", "[json_input]") {
  const std::string text = "{\n  \"a\": 1\n  \"b\": 2\n}";
  const std::string msg = error_of([&] { detail::parse_json(text, "in.json"); });
  CHECK_THAT(msg, Contains("in.json:3:3: invalid JSON"));
  CHECK_THAT(msg, Contains("missing ','"));
}

TEST_CASE("a wrong type names file, line:column, path, expectation and the value", "[json_input]") {
  const JsonField root = detail::parse_json(kDoc, "doc.json");
  const std::string msg = error_of([&] { root.at("layers").at(1).at("index").integer(); });
  CHECK(msg == "doc.json:5:15: field 'layers[1].index': expected an integer, got string \"one\"");
  CHECK(root.at("layers").at(0).at("index").integer() == 0);
}

TEST_CASE("positions are found through nested objects and escaped keys", "[json_input]") {
  const JsonField root = detail::parse_json(kDoc, "doc.json");
  CHECK(root.at("nested").at("deep").at("value").where() == "doc.json:7:32: field 'nested.deep.value'");
  CHECK(root.at("nested").at("deep").at("escaped\"key").where() ==
        "doc.json:7:53: field 'nested.deep.escaped\"key'");
}

TEST_CASE("missing members, ranges, choices and lists", "[json_input]") {
  const JsonField root = detail::parse_json(R"({"k": 12, "s": "b", "ids": [1, 2], "one": 7, "big": 18446744073709551615,
                                               "neg": -1, "f": 0.5})",
                                            "f.json");
  CHECK_THAT(error_of([&] { root.at("missing"); }), Contains("f.json:1:1: required field 'missing' is missing"));
  CHECK_THAT(error_of([&] { root.at("k").integer(0, 10); }),
             Contains("field 'k': expected an integer in [0, 10], got 12"));
  CHECK_THAT(error_of([&] { root.at("s").one_of({"a", "c"}); }), Contains("'b' is not one of: a, c"));
  CHECK(root.at("ids").integers() == std::vector<int64_t>{1, 2});
  CHECK(root.at("one").integers() == std::vector<int64_t>{7});
  CHECK(root.member("absent").integers().empty());
  CHECK(root.at("big").unsigned_integer() == UINT64_MAX);
  CHECK_THAT(error_of([&] { root.at("big").integer(); }), Contains("too large"));
  CHECK_THAT(error_of([&] { root.at("neg").unsigned_integer(); }), Contains("expected an integer in [0, "));
  CHECK(root.at("f").number(0, 1) == 0.5);
  CHECK(root.integer_or("absent", 3) == 3);
  CHECK(root.string_or("s", "z") == "b");
  CHECK_FALSE(root.has("absent"));
}

TEST_CASE("values built in memory have no positions", "[json_input]") {
  const JsonField v = detail::json_value(nlohmann::json{{"seed", "x"}}, "command line");
  CHECK(error_of([&] { v.at("seed").unsigned_integer(); }) ==
        "command line: field 'seed': expected an integer in [0, 18446744073709551615], got string \"x\"");
}

TEST_CASE("read_text_file refuses missing files, directories and oversized files", "[json_input]") {
  test::TempDir dir;
  CHECK_THAT(error_of([&] { detail::read_text_file(dir / "none.txt", {1024, "try again"}); }),
             Contains("none.txt: no such file (try again)"));
  CHECK_THAT(error_of([&] { detail::read_text_file(dir.path()); }), Contains("is a directory"));
  { std::ofstream(dir / "big.txt") << std::string(100, 'x'); }
  CHECK_THAT(error_of([&] { detail::read_text_file(dir / "big.txt", {99, {}}); }),
             Contains("100 bytes is more than the 99 bytes"));
  CHECK(detail::read_text_file(dir / "big.txt", {100, {}}).size() == 100);
  CHECK_THAT(error_of([&] { detail::read_text_file("/dev/null"); }), Contains("not a regular file"));
}
