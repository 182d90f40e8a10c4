// Safetensors files: a validating, memory-mapped reader and an in-memory writer. Used for trace
// files and (later) model checkpoints. Format: u64 little-endian header length N, N bytes of
// JSON header ({name: {dtype, shape, data_offsets:[begin,end)}}, optional "__metadata__"
// string→string), then the data; offsets are relative to the data start, C order, little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute {

enum class Dtype { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2 };

/// Bytes per element of `d`.
size_t dtype_size(Dtype d);
/// The format's spelling ("F32", "BF16", …).
const char* dtype_name(Dtype d);

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  ///< byte offset in the data section
  uint64_t end = 0;    ///< exclusive
  int64_t numel() const;
};

/// A safetensors file opened read-only through mmap. Opening validates the whole header:
/// its length, JSON syntax, every entry's dtype/shape/offsets, that tensors tile the data
/// section exactly and that the file is not truncated. Errors are InputError naming the file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// Tensors in data order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const;
  /// Throws InputError naming the file if the tensor is absent.
  const TensorInfo& info(const std::string& name) const;
  /// The tensor's raw little-endian bytes, zero-copy from the mapping.
  std::string_view bytes(const std::string& name) const;

 private:
  std::filesystem::path path_;
  const char* map_ = nullptr;
  size_t size_ = 0;
  size_t data_start_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> by_name_;
};

/// Builds a safetensors file in memory (tensors in insertion order, header padded to 8 bytes).
class SafetensorsWriter {
 public:
  /// Adds a tensor; `bytes` must hold exactly numel(shape) × dtype_size(dtype) bytes.
  void add(const std::string& name, Dtype dtype, std::vector<int64_t> shape, std::string_view bytes);
  void set_metadata(std::map<std::string, std::string> metadata) { metadata_ = std::move(metadata); }
  /// The complete file contents.
  std::string serialize() const;

 private:
  struct Entry {
    std::string name;
    Dtype dtype;
    std::vector<int64_t> shape;
    std::string data;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

/// IEEE half / bfloat16 conversions (round to nearest even), for F16/BF16 tensors.
uint16_t float_to_f16(float f);
float f16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t b);

}  // namespace moeroute
