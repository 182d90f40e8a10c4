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

AtomicFileWriter::AtomicFileWriter(fs::path path) : path_(std::move(path)) {
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
