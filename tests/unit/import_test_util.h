// Helpers for the importer tests: files from strings, chunk collection, a mutation fuzzer.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "moeroute/error.h"
#include "moeroute/import.h"
#include "temp_dir.h"

namespace moeroute::test {

inline void write_file(const std::filesystem::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Every chunk import_stream hands over, each validated.
inline std::vector<RouterTrace> chunks_of(const std::filesystem::path& p, const ImportOptions& o,
                                          ImportReport* report = nullptr) {
  std::vector<RouterTrace> out;
  const ImportReport r = import_stream(p, o, [&](RouterTrace&& t) {
    t.validate("chunk");
    REQUIRE(t.num_positions <= o.chunk_rows);
    out.push_back(std::move(t));
  });
  if (report) *report = r;
  return out;
}

/// The ids of row `row`, layer `layer` as a vector.
inline std::vector<int32_t> ids_at(const RouterTrace& t, int layer, int64_t row) {
  const int32_t* p = t.topk_ids_at(layer, row);
  return {p, p + t.top_k};
}

/// MOEROUTE_FUZZ_ROUNDS=N multiplies every fuzz loop's rounds (and varies the seeds) for long
/// runs under ASan/UBSan; ctest runs them once.
inline int fuzz_factor() {
  const char* f = std::getenv("MOEROUTE_FUZZ_ROUNDS");
  return f ? std::max(1, std::atoi(f)) : 1;
}

/// Mutates `good` `rounds` times (byte flips, truncation, duplicated or deleted spans) and
/// imports each result with `options`: it must import or throw InputError, never anything else
/// (ASan/UBSan builds catch memory errors). Returns how many were refused.
inline int fuzz_import(const std::string& good, const std::filesystem::path& file, const ImportOptions& options,
                       int rounds, unsigned seed, const char* alphabet = nullptr) {
  rounds *= fuzz_factor();
  std::mt19937 rng(seed + 7919u * static_cast<unsigned>(fuzz_factor() - 1));
  int refused = 0;
  for (int i = 0; i < rounds; ++i) {
    std::string s = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[at] = alphabet ? alphabet[rng() % std::char_traits<char>::length(alphabet)] : static_cast<char>(rng() & 0xff);
          break;
        case 1: s.erase(at, 1 + rng() % 8); break;
        case 2: s.insert(at, s.substr(at, 1 + rng() % 16)); break;
        default: s.resize(at); break;
      }
    }
    write_file(file, s);
    try {
      import_stream(file, options, [](RouterTrace&& t) { t.validate("fuzzed chunk"); });
    } catch (const InputError&) {
      ++refused;
    }
  }
  return refused;
}

}  // namespace moeroute::test
