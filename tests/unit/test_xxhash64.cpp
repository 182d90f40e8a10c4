// XXH64 against the reference implementation's published values, and incremental = one-shot.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include "io/xxhash64.h"
#include "temp_dir.h"

using namespace moeroute::detail;

TEST_CASE("XXH64 matches the reference values", "[xxhash]") {
  // From xxHash's own test vectors / `xxh64sum` (seed 0).
  CHECK(xxh64_hex(xxh64("")) == "ef46db3751d8e999");
  CHECK(xxh64_hex(xxh64("a")) == "d24ec4f1a98c6e5b");
  CHECK(xxh64_hex(xxh64("abc")) == "44bc2cf5ad770999");
  CHECK(xxh64_hex(xxh64("Nobody inspects the spammish repetition")) == "fbcea83c8a378bf1");
}

TEST_CASE("XXH64 fed in pieces equals XXH64 of the whole, and of the file", "[xxhash]") {
  std::mt19937 rng(3);
  std::string data(1000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const std::uint64_t whole = xxh64(data);
  for (std::size_t step : {1u, 3u, 31u, 32u, 33u, 100u}) {
    Xxh64 h;
    for (std::size_t i = 0; i < data.size(); i += step) h.update(std::string_view(data).substr(i, step));
    CHECK(h.digest() == whole);
  }
  moeroute::test::TempDir dir;
  std::ofstream(dir / "f", std::ios::binary) << data;
  CHECK(xxh64_file((dir / "f").string()) == whole);
}
