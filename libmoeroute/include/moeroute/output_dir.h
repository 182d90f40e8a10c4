// A set of output files that appears all at once or not at all. Files are written into a
// hidden staging directory inside the destination and renamed into place by commit(); if the
// object is destroyed before commit() (an error was thrown), staging is removed — and the
// destination too if this object created it — so no half-written outputs remain.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute {

class OutputDir {
 public:
  explicit OutputDir(std::filesystem::path dir);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  /// Where to write `filename` before commit (for writers that take a path, e.g. plots).
  std::filesystem::path staged_path(const std::string& filename);
  /// Stages `bytes` as `filename`.
  void write(const std::string& filename, std::string_view bytes);
  /// Moves every staged file into dir(); returns their names in staging order.
  std::vector<std::string> commit();

 private:
  std::filesystem::path dir_;
  std::filesystem::path staging_;
  std::vector<std::string> files_;
  bool created_dir_ = false;
  bool committed_ = false;
};

}  // namespace moeroute
