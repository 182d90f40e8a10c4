// Atomic output: every file moeroute writes goes to a temporary sibling first and is renamed
// into place, so an error never leaves a half-written output behind.
#pragma once

#include <filesystem>
#include <string_view>

namespace moeroute {

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename).
/// Creates missing parent directories. Throws IoError naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

}  // namespace moeroute
