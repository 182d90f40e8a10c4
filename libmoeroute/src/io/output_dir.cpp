#include "moeroute/output_dir.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "moeroute/atomic_file.h"
#include "moeroute/error.h"

namespace moeroute {

namespace fs = std::filesystem;

OutputDir::OutputDir(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  // Every problem with the output target is an IoError (exit 3), whether it exists as something
  // else or cannot be created.
  if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec))
    throw IoError(fmt::format("{}: exists and is not a directory", dir_.string()));
  created_dir_ = fs::create_directories(dir_, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create directory: {}", dir_.string(), ec.message()));
  staging_ = dir_ / fmt::format(".moeroute-staging-{}", ::getpid());
  fs::remove_all(staging_, ec);
  fs::create_directory(staging_, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create staging directory: {}", staging_.string(), ec.message()));
}

OutputDir::~OutputDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
  if (created_dir_ && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
}

fs::path OutputDir::staged_path(const std::string& filename) {
  if (std::find(files_.begin(), files_.end(), filename) == files_.end()) files_.push_back(filename);
  return staging_ / filename;
}

void OutputDir::write(const std::string& filename, std::string_view bytes) {
  write_file_atomic(staged_path(filename), bytes);
}

std::vector<std::string> OutputDir::commit() {
  for (const auto& f : files_) {
    std::error_code ec;
    if (!fs::exists(staging_ / f, ec))
      throw Error(fmt::format("{}: output '{}' was announced but never written", dir_.string(), f));
    check_output_file(dir_ / f);  // before anything moves: nothing replaces a device node or FIFO
  }
  for (const auto& f : files_) {
    std::error_code ec;
    fs::rename(staging_ / f, dir_ / f, ec);
    if (ec) throw IoError(fmt::format("{}: cannot move into place: {}", (dir_ / f).string(), ec.message()));
  }
  std::error_code ec;
  fs::remove_all(staging_, ec);
  committed_ = true;
  return files_;
}

}  // namespace moeroute
