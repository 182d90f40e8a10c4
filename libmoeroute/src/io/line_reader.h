// Streaming line input for line-oriented formats (JSONL, plain text, CSV): reads a file in
// blocks, hands out one line at a time with its 1-based number, strips "\n" / "\r\n" and a
// leading UTF-8 byte-order mark. Memory is one block plus the longest line.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>


namespace moeroute::detail {

class LineReader {
 public:
  /// Opens `path`. Throws InputError when it does not exist or is not a regular file.
  explicit LineReader(const std::string& path);

  /// The next line without its terminator; false at the end of the file. Throws IoError when
  /// reading fails.
  bool next(std::string& line);
  /// Number of the line last returned (1-based).
  std::int64_t line_number() const { return line_; }
  const std::string& path() const { return path_; }

 private:
  bool fill();

  std::string path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::string buffer_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  std::int64_t line_ = 0;
};

}  // namespace moeroute::detail
