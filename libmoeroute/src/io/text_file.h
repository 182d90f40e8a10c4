// The one way libmoeroute reads a whole input file into memory: size-capped, with errors that
// say which file and why (missing, a directory, too large, unreadable).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace moeroute::detail {

struct ReadTextOptions {
  std::uint64_t max_bytes = std::uint64_t{256} << 20;  ///< larger files are refused before any read (256 MiB)
  std::string_view missing_hint;                        ///< appended in parentheses when the file does not exist
};

/// The whole content of `path` ("-" = standard input). Throws InputError "<path>: …" when it does
/// not exist, is not a regular file (a directory, a device) or exceeds max_bytes; IoError when
/// reading fails.
std::string read_text_file(const std::filesystem::path& path, const ReadTextOptions& options = {});

}  // namespace moeroute::detail
