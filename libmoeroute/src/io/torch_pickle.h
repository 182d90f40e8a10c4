// Reading torch.save files without LibTorch: the zip archive's data.pkl unpickled by a small
// pickle machine that builds plain values only — None, bool, int, float, str, bytes, list,
// tuple, dict and tensors (torch._utils._rebuild_tensor_v2 over typed storages), whose data is
// read from the archive's data/<key> members on demand. Anything else (arbitrary classes,
// other callables) is refused with UnsupportedError naming it, so no code from the file runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/zip_reader.h"

namespace moeroute::detail {

struct PyValue;
using PyPtr = std::shared_ptr<PyValue>;

/// A tensor as torch.save describes it; data stays in the archive.
struct TorchTensor {
  std::string storage_key;      ///< member "<prefix>data/<key>"
  std::string dtype;            ///< "int32", "int64", "float32", "bfloat16", …
  int itemsize = 0;             ///< bytes per element
  int64_t storage_offset = 0;   ///< in elements
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  ///< in elements
  int64_t numel() const;
};

struct PyValue {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, List, Tuple, Dict, Tensor, Global, Storage };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string text;                       ///< Str, Bytes; Global: "module.name"; Storage: dtype
  std::vector<PyPtr> items;               ///< List, Tuple (a list of only ints keeps them in `ints`)
  std::vector<int64_t> ints;              ///< List/Tuple of ints, compact
  bool int_list = true;                   ///< List/Tuple: every element so far is an int (in `ints`)
  std::vector<std::pair<PyPtr, PyPtr>> dict;
  TorchTensor tensor;                     ///< Tensor; Storage: key + dtype
  bool frozen = false;                    ///< held by another container: no longer mutable (no cycles)
  int depth = 0;                          ///< nesting depth below this value

  /// Elements of a List/Tuple as values (ints materialised).
  size_t size() const { return int_list ? ints.size() : items.size(); }
  /// Dict member with string key `key`, or null.
  const PyValue* get(std::string_view key) const;
  /// "dict", "list", "tensor", …
  std::string type_name() const;
};

class TorchFile {
 public:
  /// Opens the archive and unpickles data.pkl. Throws InputError when the file is not a
  /// torch.save archive or is damaged, UnsupportedError for objects beyond plain data.
  explicit TorchFile(const std::filesystem::path& path);

  const PyValue& root() const { return *root_; }
  const std::string& name() const { return zip_.name(); }
  /// The tensor's elements in C order as int64 (integer dtypes) — e.g. ids, counts.
  std::vector<int64_t> integers(const TorchTensor& t, const std::string& what) const;
  /// The same as int32, refusing values outside its range.
  std::vector<int32_t> int32s(const TorchTensor& t, const std::string& what) const;

 private:
  std::string storage_bytes(const TorchTensor& t, const std::string& what) const;

  ZipReader zip_;
  std::string prefix_;  // "<archive>/"
  PyPtr root_;
};

/// Unpickles `data` (for tests and the fuzzer; TorchFile uses it). `source` names errors.
PyPtr unpickle(std::string_view data, const std::string& source);

}  // namespace moeroute::detail
