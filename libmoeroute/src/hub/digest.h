// Streaming digests for verifying downloads: SHA-256 (the etag of LFS files) and the git blob
// SHA-1 ("blob <size>\0" + content: the oid of regular files in a repository listing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace moeroute::detail {

class Digest {
 public:
  enum class Kind { sha256, git_blob_sha1 };
  /// For git_blob_sha1, `size` is the blob's size (hashed before the content).
  explicit Digest(Kind kind, std::uint64_t size = 0);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;
  void update(const void* data, std::size_t n);
  /// Lower-case hex of the digest; the object cannot be updated afterwards.
  std::string hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace moeroute::detail
