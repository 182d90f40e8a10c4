// The one streaming reader for line-oriented input (logs, CSV, JSON Lines): a file or standard
// input read in large blocks, handed out line by line without copying, in constant memory
// whatever the file size. Lines lose their terminator ("\n" or "\r\n", so CRLF files read like
// LF files) and a leading UTF-8 byte-order mark; errors name the file and the line ("<file>:<line>: …").
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute::detail {

struct LineReaderOptions {
  std::size_t block_bytes = std::size_t{4} << 20;  ///< bytes read per system call (4 MiB)
  std::size_t max_line_bytes = std::size_t{1} << 30;  ///< a longer line is refused (1 GiB): not a text file of ours
};

class LineReader {
 public:
  /// Bytes after the end of every line and block that may be read (they hold no input): parsers
  /// can load 64 bytes at a time (io/import/expert_line_scan.h).
  static constexpr std::size_t kPadding = 64;

  /// Opens `path` ("-" = standard input). Throws InputError when it is missing, a directory or
  /// not a regular file (stdin excepted), IoError when it cannot be opened.
  explicit LineReader(const std::filesystem::path& path, const LineReaderOptions& options = {});
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// The next line without its terminator; false at the end of the input. The view stays valid
  /// until the next call.
  bool next(std::string_view& line) {
    for (;;) {
      const char* begin = buf_.data() + pos_;
      const char* end = buf_.data() + len_;
      const void* nl = begin == end ? nullptr : std::memchr(begin, '\n', static_cast<std::size_t>(end - begin));
      if (nl != nullptr) {
        const char* stop = static_cast<const char*>(nl);
        pos_ = static_cast<std::size_t>(stop - buf_.data()) + 1;
        if (stop > begin && stop[-1] == '\r') --stop;
        line = std::string_view(begin, static_cast<std::size_t>(stop - begin));
        if (++line_number_ == 1) skip_byte_order_mark(line);
        return true;
      }
      if (!refill()) return take_last(line);
    }
  }

  /// next() into a string the caller keeps (a copy of the line).
  bool next(std::string& line) {
    std::string_view view;
    if (!next(view)) return false;
    line.assign(view.data(), view.size());
    return true;
  }

  /// The next run of whole lines, each ending in '\n' (terminators kept, '\r' included), or at
  /// the end of the input its final line without a terminator (last_line_unterminated() then
  /// says so); false at the end. For parsers that scan many lines in one loop: line_number()
  /// does not count the lines of blocks.
  bool next_block(std::string_view& block);

  /// 1-based number of the line next() returned last (0 before the first).
  std::int64_t line_number() const { return line_number_; }
  /// The line next() returned last is the input's final line and had no terminator: a file cut
  /// off in the middle of a write usually ends like this.
  bool last_line_unterminated() const { return unterminated_; }
  /// Bytes of input consumed so far.
  std::uint64_t bytes_read() const { return bytes_read_; }
  /// The file name as given ("standard input" for "-"): the prefix of every error.
  const std::string& name() const { return name_; }
  /// "<name>:<line>", the location of the line next() returned last.
  std::string where() const;

 private:
  bool refill();
  bool take_last(std::string_view& line);
  // A UTF-8 byte-order mark before the first line is not part of it (editors on Windows write one).
  static void skip_byte_order_mark(std::string_view& line) {
    if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
  }

  std::string name_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool eof_ = false;
  bool unterminated_ = false;
  LineReaderOptions options_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;  // first unread byte
  std::size_t len_ = 0;  // bytes valid in buf_
  std::int64_t line_number_ = 0;
  std::uint64_t bytes_read_ = 0;
};

/// The first `max_bytes` bytes of `path` (fewer when the file is shorter): cheap format sniffing.
/// Throws like LineReader's constructor.
std::string read_file_prefix(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace moeroute::detail
