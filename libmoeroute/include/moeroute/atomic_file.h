// Atomic output: every file moeroute writes goes to a temporary sibling first and is renamed
// into place, so an error never leaves a half-written output behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace moeroute {

/// Checks, before any work, that `path` can be written as moeroute writes files: it is a regular
/// file or does not exist (never a device node, FIFO, socket or directory, which a rename would
/// replace), and its nearest existing ancestor is a writable directory. Throws IoError (exit 3)
/// naming the path and the problem.
void check_output_file(const std::filesystem::path& path);

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename).
/// Creates missing parent directories. Throws IoError naming the path on failure, and refuses
/// (check_output_file) a target that is not a regular file.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// The streaming form, for outputs too large to build in memory: bytes go to a temporary
/// sibling of `path` (appended, or at given offsets), and commit() flushes and renames it into
/// place. Destroyed without commit() (an exception), the temporary file is removed.
class AtomicFileWriter {
 public:
  /// Creates the temporary file (and missing parent directories). Throws IoError.
  explicit AtomicFileWriter(std::filesystem::path path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  /// Appends at the end of what was appended so far.
  void write(std::string_view bytes);
  /// Writes at byte `offset` (the file grows as needed; gaps read as zeros).
  void write_at(uint64_t offset, std::string_view bytes);
  /// fsync + rename into place. Throws IoError.
  void commit();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_, tmp_;
  int fd_ = -1;
  uint64_t end_ = 0;
  bool committed_ = false;
};

}  // namespace moeroute
