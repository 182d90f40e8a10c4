#include "moeroute/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

namespace fs = std::filesystem;

void check_output_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw IoError(fmt::format("{}: exists and is not a regular file ({}): moeroute writes only regular files and "
                              "never replaces anything else",
                              path.string(), fs::is_directory(st) ? "a directory" : "a device, FIFO or socket"));
  // The nearest existing ancestor must be a directory moeroute can write into.
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  while (!dir.empty() && !fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec))
    throw IoError(fmt::format("{}: cannot create: {} is not a directory", path.string(), dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw IoError(fmt::format("{}: cannot create: {}: {}", path.string(), dir.string(), std::strerror(errno)));
}

AtomicFileWriter::AtomicFileWriter(fs::path path) : path_(std::move(path)) {
  check_output_file(path_);
  std::error_code ec;
  const fs::path dir = path_.has_parent_path() ? path_.parent_path() : fs::path(".");
  fs::create_directories(dir, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  // A unique temporary sibling: same filesystem, so rename() is atomic.
  std::random_device rd;
  tmp_ = dir / fmt::format(".{}.tmp{:08x}", path_.filename().string(), rd());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(fmt::format("{}: cannot create: {}", tmp_.string(), std::strerror(errno)));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFileWriter::write_at(uint64_t offset, std::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw IoError(fmt::format("{}: write failed: {}", path_.string(), std::strerror(errno)));
    p += n;
    offset += static_cast<uint64_t>(n);
    left -= static_cast<size_t>(n);
  }
  end_ = std::max(end_, offset);
}

void AtomicFileWriter::write(std::string_view bytes) { write_at(end_, bytes); }

void AtomicFileWriter::commit() {
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw IoError(fmt::format("{}: cannot flush: {}", path_.string(), std::strerror(errno)));
  check_output_file(path_);  // a device node or FIFO may have appeared meanwhile: never rename over it
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw IoError(fmt::format("{}: cannot rename into place: {}", path_.string(), std::strerror(errno)));
  committed_ = true;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFileWriter w(path);
  w.write(bytes);
  w.commit();
}

}  // namespace moeroute
