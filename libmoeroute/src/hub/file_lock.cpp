#include "hub/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

FileLock::FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw IoError(fmt::format("{}: cannot create lock directory: {}", path.parent_path().string(), ec.message()));
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0664);
  if (fd_ < 0) throw IoError(fmt::format("{}: cannot open lock file: {}", path.string(), std::strerror(errno)));
  (void)::fchmod(fd_, 0664);  // despite the umask, as filelock does: others sharing the cache can wait on it
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  if (errno != EWOULDBLOCK) {
    const int err = errno;
    ::close(fd_);
    throw IoError(fmt::format("{}: cannot lock: {}", path.string(), std::strerror(err)));
  }
  if (on_wait) on_wait();
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd_);
    throw IoError(fmt::format("{}: cannot lock: {}", path.string(), std::strerror(err)));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace moeroute::detail
