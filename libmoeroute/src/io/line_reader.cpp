#include "io/line_reader.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace fs = std::filesystem;

namespace {
constexpr std::size_t kBlock = std::size_t{1} << 20;

std::FILE* open_checked(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(fmt::format("{}: no such file", path));
  if (fs::is_directory(status)) throw InputError(fmt::format("{}: is a directory, expected a file", path));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw InputError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  return f;
}
}  // namespace

LineReader::LineReader(const std::string& path) : path_(path), file_(open_checked(path), &std::fclose) {}

bool LineReader::fill() {
  if (eof_) return false;
  buffer_.erase(0, pos_);
  pos_ = 0;
  const std::size_t old = buffer_.size();
  buffer_.resize(old + kBlock);
  const std::size_t n = std::fread(buffer_.data() + old, 1, kBlock, file_.get());
  buffer_.resize(old + n);
  if (n < kBlock) {
    if (std::ferror(file_.get())) throw IoError(fmt::format("{}: read failed: {}", path_, std::strerror(errno)));
    eof_ = true;
  }
  return n > 0;
}

bool LineReader::next(std::string& line) {
  std::size_t scanned = pos_;
  while (true) {
    const std::size_t nl = buffer_.find('\n', scanned);
    if (nl != std::string::npos) {
      std::size_t end = nl;
      if (end > pos_ && buffer_[end - 1] == '\r') --end;
      line.assign(buffer_, pos_, end - pos_);
      pos_ = nl + 1;
      break;
    }
    scanned = buffer_.size() - pos_;  // offsets shift by pos_ when fill() compacts
    if (!fill()) {
      if (pos_ >= buffer_.size()) return false;
      std::size_t end = buffer_.size();
      if (end > pos_ && buffer_[end - 1] == '\r') --end;
      line.assign(buffer_, pos_, end - pos_);
      pos_ = buffer_.size();
      break;
    }
  }
  ++line_;
  if (line_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  return true;
}

}  // namespace moeroute::detail
