// NumPy .npy arrays (format versions 1–3): the header ("\x93NUMPY", version, a Python dict
// literal with 'descr', 'fortran_order', 'shape') and conversion of integer data to int32.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute::detail {

struct NpyArray {
  char kind = 0;             ///< 'i' signed, 'u' unsigned, 'f' float, 'b' bool
  int itemsize = 0;          ///< bytes per element
  bool big_endian = false;   ///< '>' byte order
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;    ///< where the data starts in the file / buffer
  uint64_t count() const;    ///< product of shape (1 for a scalar)
  std::string dtype() const; ///< "int16", "uint8", "float32", …
};

/// "\x93NUMPY" (an .npy file's first bytes).
bool looks_like_npy(std::string_view prefix);

/// Parses the header at the start of `bytes` (which need hold only the header). Throws
/// InputError "<what>: …" when it is not a valid .npy header.
NpyArray parse_npy_header(std::string_view bytes, const std::string& what);

/// Converts `count` integer elements of type `a` starting at `data` to int32. Throws
/// InputError naming `what` for non-integer dtypes or values outside int32.
std::vector<int32_t> npy_integers(const NpyArray& a, const char* data, uint64_t count, const std::string& what);

/// Little-endian float32 view of `count` float elements (float16/32/64) starting at `data`.
std::vector<float> npy_floats(const NpyArray& a, const char* data, uint64_t count, const std::string& what);

}  // namespace moeroute::detail
