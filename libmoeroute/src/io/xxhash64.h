// XXH64 (Yann Collet's xxHash, 64-bit variant, seed 0 unless given): the content checksum of
// dataset-trace shards. Implemented from the published specification (xxhash.com, "XXH64
// algorithm description"), so `python -m xxhash` / `xxh64sum` give the same value for a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace moeroute::detail {

/// Incremental XXH64: update() any number of times, digest() at the end (it does not reset).
class Xxh64 {
 public:
  explicit Xxh64(std::uint64_t seed = 0);
  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  std::uint64_t digest() const;

 private:
  std::uint64_t v_[4];
  std::uint64_t seed_;
  std::uint64_t total_ = 0;
  unsigned char buffer_[32];
  std::size_t buffered_ = 0;
};

/// XXH64 of `bytes`.
std::uint64_t xxh64(std::string_view bytes, std::uint64_t seed = 0);

/// 16 lowercase hex digits, as xxh64sum prints it.
std::string xxh64_hex(std::uint64_t h);

/// XXH64 of a whole file, read in blocks. Throws InputError when it cannot be opened, IoError
/// when reading fails.
std::uint64_t xxh64_file(const std::string& path);

}  // namespace moeroute::detail
