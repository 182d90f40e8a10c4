// An exclusive advisory lock on a file (flock), the same kind huggingface_hub's FileLock takes
// on <cache>/.locks/<repo folder>/<etag>.lock, so a Python process and moeroute never write one
// blob at the same time.
#pragma once

#include <filesystem>
#include <functional>

namespace moeroute::detail {

class FileLock {
 public:
  /// Blocks until the lock is held; calls `on_wait` once if it has to wait. Creates the lock
  /// file (and its directory) group-writable like huggingface_hub. Throws IoError.
  explicit FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait = {});
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace moeroute::detail
