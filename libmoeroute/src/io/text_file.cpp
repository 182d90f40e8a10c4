#include "io/text_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace fs = std::filesystem;

namespace {

std::string too_large(const std::string& name, std::uint64_t size, std::uint64_t max) {
  return fmt::format("{}: {} bytes is more than the {} bytes moeroute reads from such a file", name, size, max);
}

std::string read_stdin(std::uint64_t max_bytes) {
  std::string text;
  char buf[1 << 16];
  while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
    text.append(buf, static_cast<size_t>(std::cin.gcount()));
    if (text.size() > max_bytes) throw InputError(too_large("standard input", text.size(), max_bytes));
  }
  if (std::cin.bad()) throw IoError("standard input: read failed");
  return text;
}

}  // namespace

std::string read_text_file(const fs::path& path, const ReadTextOptions& options) {
  if (path == "-") return read_stdin(options.max_bytes);
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    const std::string hint = options.missing_hint.empty() ? "" : fmt::format(" ({})", options.missing_hint);
    throw InputError(fmt::format("{}: no such file{}", name, hint));
  }
  if (fs::is_directory(status)) throw InputError(fmt::format("{}: is a directory, expected a file", name));
  if (!fs::is_regular_file(status)) throw InputError(fmt::format("{}: not a regular file", name));
  const std::uint64_t size = fs::file_size(path, ec);
  if (!ec && size > options.max_bytes) throw InputError(too_large(name, size, options.max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open for reading: {}", name, std::strerror(errno)));
  std::string text;
  text.resize(static_cast<size_t>(size));
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (in.bad() || static_cast<std::uint64_t>(in.gcount()) != size)
    throw IoError(fmt::format("{}: read failed after {} of {} bytes", name, in.gcount(), size));
  return text;
}

}  // namespace moeroute::detail
