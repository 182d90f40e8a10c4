// A Hugging Face checkpoint directory's weights: `model.safetensors`, or shards listed by
// `model.safetensors.index.json` (weight_map: tensor → shard file). Every shard is memory-mapped
// and validated when the directory is opened (SafetensorsFile: header, offsets, file size), so a
// missing shard, a truncated shard or an index entry without its tensor fails at open with an
// InputError naming the file and the tensor. docs/native-models.md, "Checkpoint directories".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moeroute/safetensors.h"

namespace moeroute {

class Checkpoint {
 public:
  /// Opens `dir`. Prefers model.safetensors over the index (as transformers does). Throws
  /// InputError when neither exists, the index is malformed, a shard is missing/damaged, a
  /// tensor the index names is absent from its shard, or a tensor is stored twice.
  explicit Checkpoint(const std::filesystem::path& dir);
  ~Checkpoint();
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  /// The safetensors files, in index order (one for a single-file checkpoint).
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  /// Every tensor name, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  /// Throws InputError naming the directory and the tensor when absent.
  const TensorInfo& info(const std::string& name) const;
  /// The file holding `name` (same error as info()).
  const SafetensorsFile& file_of(const std::string& name) const;
  /// Raw little-endian bytes, zero-copy from the mapping (valid while this object lives).
  std::string_view bytes(const std::string& name) const;
  /// Sum of all tensors' data bytes.
  uint64_t total_bytes() const;

  /// Checks that `name` exists with `shape`; otherwise throws InputError naming the file, the
  /// tensor, both shapes and `why` (the config fields the expected shape comes from).
  const TensorInfo& expect_shape(const std::string& name, const std::vector<int64_t>& shape,
                                 const std::string& why) const;

 private:
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor → index into files_
};

/// "[2, 3]" — shapes in error messages.
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace moeroute
