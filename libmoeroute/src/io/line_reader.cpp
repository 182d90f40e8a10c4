#include "io/line_reader.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace fs = std::filesystem;

namespace {

// Opens a regular file for reading with the input layer's error messages.
int open_input(const fs::path& path, const std::string& name) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(fmt::format("{}: no such file", name));
  if (fs::is_directory(status)) throw InputError(fmt::format("{}: is a directory, expected a file", name));
  if (!fs::is_regular_file(status)) throw InputError(fmt::format("{}: not a regular file", name));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("{}: cannot open for reading: {}", name, std::strerror(errno)));
  return fd;
}

// read() until `n` bytes or the end; returns the bytes read.
std::size_t read_fully(int fd, char* dst, std::size_t n, const std::string& name) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, dst + got, n - got);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("{}: read failed: {}", name, std::strerror(errno)));
    }
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

LineReader::LineReader(const fs::path& path, const LineReaderOptions& options) : options_(options) {
  if (path == "-") {
    name_ = "standard input";
    fd_ = 0;
  } else {
    name_ = path.string();
    fd_ = open_input(path, name_);
    owns_fd_ = true;
  }
  buf_.resize(options_.block_bytes + kPadding);
}

LineReader::~LineReader() {
  if (owns_fd_) ::close(fd_);
}

std::string LineReader::where() const { return fmt::format("{}:{}", name_, line_number_); }

bool LineReader::refill() {
  if (eof_) return false;
  // Keep the unfinished line, move it to the front, and read behind it.
  const std::size_t keep = len_ - pos_;
  if (pos_ > 0) std::memmove(buf_.data(), buf_.data() + pos_, keep);
  pos_ = 0;
  len_ = keep;
  const std::size_t capacity = buf_.size() - kPadding;
  if (len_ == capacity) {
    if (capacity >= options_.max_line_bytes)
      throw InputError(fmt::format("{}:{}: line is longer than {} bytes: not a line-oriented text file?", name_,
                                   line_number_ + 1, options_.max_line_bytes));
    buf_.resize(std::min(capacity * 2, options_.max_line_bytes) + kPadding);
  }
  const std::size_t got = read_fully(fd_, buf_.data() + len_, buf_.size() - kPadding - len_, name_);
  bytes_read_ += got;
  len_ += got;
  if (got == 0) eof_ = true;
  return got > 0;
}

bool LineReader::next_block(std::string_view& block) {
  for (;;) {
    if (pos_ < len_) {
      const char* begin = buf_.data() + pos_;
      const void* last = ::memrchr(begin, '\n', len_ - pos_);
      if (last != nullptr) {
        const auto n = static_cast<std::size_t>(static_cast<const char*>(last) - begin) + 1;
        block = std::string_view(begin, n);
        pos_ += n;
        return true;
      }
    }
    if (!refill()) {
      if (pos_ == len_) return false;
      block = std::string_view(buf_.data() + pos_, len_ - pos_);
      pos_ = len_;
      unterminated_ = true;
      return true;
    }
  }
}

bool LineReader::take_last(std::string_view& line) {
  if (pos_ == len_) return false;
  // The input ends without a terminator: hand out what is left as the final line.
  const char* begin = buf_.data() + pos_;
  std::size_t n = len_ - pos_;
  if (begin[n - 1] == '\r') --n;
  line = std::string_view(begin, n);
  pos_ = len_;
  if (++line_number_ == 1) skip_byte_order_mark(line);
  unterminated_ = true;
  return true;
}

std::string read_file_prefix(const fs::path& path, std::size_t max_bytes) {
  const std::string name = path.string();
  const int fd = open_input(path, name);
  std::string out(max_bytes, '\0');
  std::size_t got = 0;
  try {
    got = read_fully(fd, out.data(), max_bytes, name);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  out.resize(got);
  return out;
}

}  // namespace moeroute::detail
