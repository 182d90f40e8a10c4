// Reading members of a zip archive (numpy .npz, torch.save files) without unpacking it: the
// central directory is read once, members are read by offset. Stored (uncompressed) members
// only — what numpy.savez and torch.save write; zip64 archives are supported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute::detail {

struct ZipMember {
  std::string name;          ///< path inside the archive
  uint64_t local_offset = 0; ///< offset of the member's local header
  uint64_t size = 0;         ///< uncompressed size
  uint64_t stored_size = 0;  ///< compressed size (= size for stored members)
  uint16_t method = 0;       ///< 0 = stored, 8 = deflate
};

/// "PK\3\4" (a zip archive's first bytes).
bool looks_like_zip(std::string_view prefix);

class ZipReader {
 public:
  /// Reads the central directory. Throws InputError "<file>: …" when the archive is damaged.
  explicit ZipReader(const std::filesystem::path& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<ZipMember>& members() const { return members_; }
  /// The member called `name`, or null.
  const ZipMember* find(std::string_view member) const;
  /// The first member whose name ends with `suffix`, or null.
  const ZipMember* find_suffix(std::string_view suffix) const;
  /// Bytes [offset, offset + n) of a stored member. Throws UnsupportedError for compressed
  /// members, InputError when the range lies outside it or the file.
  void read(const ZipMember& m, uint64_t offset, void* dst, uint64_t n) const;
  /// The whole member (at most `max_bytes`, else InputError).
  std::string read_all(const ZipMember& m, uint64_t max_bytes = uint64_t{1} << 30) const;

 private:
  uint64_t data_offset(const ZipMember& m) const;
  void pread_exact(uint64_t offset, void* dst, uint64_t n, const char* what) const;

  std::string name_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  std::vector<ZipMember> members_;
};

}  // namespace moeroute::detail
