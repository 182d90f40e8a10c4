#include "io/npy.h"

#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/safetensors.h"

namespace moeroute::detail {

namespace {

// The value after "'key':" in the header dict, up to the next top-level ',' or '}'.
std::string_view dict_value(std::string_view dict, std::string_view key, const std::string& what) {
  const std::string quoted = fmt::format("'{}'", key);
  size_t i = dict.find(quoted);
  if (i == std::string_view::npos) throw InputError(fmt::format("{}: .npy header has no '{}': {}", what, key, dict));
  i = dict.find(':', i + quoted.size());
  if (i == std::string_view::npos) throw InputError(fmt::format("{}: damaged .npy header: {}", what, dict));
  ++i;
  while (i < dict.size() && dict[i] == ' ') ++i;
  size_t j = i;
  int depth = 0;
  bool quote = false;
  for (; j < dict.size(); ++j) {
    const char c = dict[j];
    if (c == '\'') quote = !quote;
    if (quote) continue;
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  return dict.substr(i, j - i);
}

template <class T>
T load(const char* p, bool swap) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if (swap) {
    char b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    for (size_t i = 0; i < sizeof v / 2; ++i) std::swap(b[i], b[sizeof v - 1 - i]);
    std::memcpy(&v, b, sizeof v);
  }
  return v;
}

}  // namespace

uint64_t NpyArray::count() const {
  uint64_t n = 1;
  for (int64_t d : shape) {
    const auto u = static_cast<uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<uint64_t>::max() / u) return std::numeric_limits<uint64_t>::max();
    n *= u;
  }
  return n;
}

std::string NpyArray::dtype() const {
  switch (kind) {
    case 'i': return fmt::format("int{}", itemsize * 8);
    case 'u': return fmt::format("uint{}", itemsize * 8);
    case 'f': return fmt::format("float{}", itemsize * 8);
    case 'b': return "bool";
  }
  return "?";
}

bool looks_like_npy(std::string_view prefix) { return prefix.size() >= 6 && prefix.substr(0, 6) == "\x93NUMPY"; }

NpyArray parse_npy_header(std::string_view bytes, const std::string& what) {
  if (!looks_like_npy(bytes)) throw InputError(fmt::format("{}: not a .npy array (no \\x93NUMPY magic)", what));
  if (bytes.size() < 10) throw InputError(fmt::format("{}: .npy header is cut off", what));
  const auto major = static_cast<unsigned char>(bytes[6]);
  size_t len = 0, start = 0;
  if (major == 1) {
    len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw InputError(fmt::format("{}: .npy header is cut off", what));
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(bytes[8 + static_cast<size_t>(i)]);
    start = 12;
  } else {
    throw UnsupportedError(fmt::format("{}: .npy format version {} (moeroute reads 1–3)", what, major));
  }
  if (len > (1u << 20) || start + len > bytes.size()) throw InputError(fmt::format("{}: .npy header is cut off or damaged", what));
  const std::string_view dict = bytes.substr(start, len);
  NpyArray a;
  a.data_offset = start + len;
  const std::string_view descr = dict_value(dict, "descr", what);
  if (descr.size() < 5 || descr.front() != '\'' || descr.back() != '\'')
    throw UnsupportedError(fmt::format("{}: .npy dtype {} is not a plain numeric type", what, descr));
  const char order = descr[1];
  a.big_endian = order == '>';
  a.kind = descr[2];
  try {
    a.itemsize = std::stoi(std::string(descr.substr(3, descr.size() - 4)));
  } catch (const std::exception&) {
    throw UnsupportedError(fmt::format("{}: .npy dtype {} is not a plain numeric type", what, descr));
  }
  if ((order != '<' && order != '>' && order != '|' && order != '=') ||
      (a.kind != 'i' && a.kind != 'u' && a.kind != 'f' && a.kind != 'b') ||
      (a.itemsize != 1 && a.itemsize != 2 && a.itemsize != 4 && a.itemsize != 8))
    throw UnsupportedError(fmt::format("{}: .npy dtype {} is not an integer, float or bool type", what, descr));
  const std::string_view fortran = dict_value(dict, "fortran_order", what);
  if (fortran != "False" && fortran != "True") throw InputError(fmt::format("{}: .npy fortran_order is {}", what, fortran));
  a.fortran_order = fortran == "True";
  std::string_view shape = dict_value(dict, "shape", what);
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    throw InputError(fmt::format("{}: .npy shape {} is not a tuple", what, shape));
  shape = shape.substr(1, shape.size() - 2);
  size_t i = 0;
  while (i < shape.size()) {
    while (i < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
    if (i == shape.size()) break;
    int64_t v = 0;
    const size_t s = i;
    while (i < shape.size() && shape[i] >= '0' && shape[i] <= '9' && i - s < 15) v = v * 10 + (shape[i++] - '0');
    if (i == s) throw InputError(fmt::format("{}: .npy shape ({}) holds a non-integer", what, shape));
    a.shape.push_back(v);
  }
  return a;
}

std::vector<int32_t> npy_integers(const NpyArray& a, const char* data, uint64_t count, const std::string& what) {
  if (a.kind != 'i' && a.kind != 'u' && a.kind != 'b')
    throw InputError(fmt::format("{}: expected integer expert ids, got dtype {}", what, a.dtype()));
  std::vector<int32_t> out(static_cast<size_t>(count));
  const bool swap = a.big_endian && a.itemsize > 1;
  for (uint64_t i = 0; i < count; ++i) {
    const char* p = data + i * static_cast<uint64_t>(a.itemsize);
    int64_t v = 0;
    if (a.kind == 'u' || a.kind == 'b') {
      switch (a.itemsize) {
        case 1: v = static_cast<unsigned char>(*p); break;
        case 2: v = load<uint16_t>(p, swap); break;
        case 4: v = load<uint32_t>(p, swap); break;
        default: {
          const uint64_t u = load<uint64_t>(p, swap);
          v = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                             : static_cast<int64_t>(u);
        }
      }
    } else {
      switch (a.itemsize) {
        case 1: v = static_cast<signed char>(*p); break;
        case 2: v = load<int16_t>(p, swap); break;
        case 4: v = load<int32_t>(p, swap); break;
        default: v = load<int64_t>(p, swap);
      }
    }
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
      throw InputError(fmt::format("{}: element {} = {} does not fit an expert id", what, i, v));
    out[static_cast<size_t>(i)] = static_cast<int32_t>(v);
  }
  return out;
}

std::vector<float> npy_floats(const NpyArray& a, const char* data, uint64_t count, const std::string& what) {
  if (a.kind != 'f') throw InputError(fmt::format("{}: expected floating-point values, got dtype {}", what, a.dtype()));
  std::vector<float> out(static_cast<size_t>(count));
  const bool swap = a.big_endian;
  for (uint64_t i = 0; i < count; ++i) {
    const char* p = data + i * static_cast<uint64_t>(a.itemsize);
    switch (a.itemsize) {
      case 2: out[static_cast<size_t>(i)] = f16_to_float(load<uint16_t>(p, swap)); break;
      case 4: out[static_cast<size_t>(i)] = load<float>(p, swap); break;
      case 8: out[static_cast<size_t>(i)] = static_cast<float>(load<double>(p, swap)); break;
      default: throw InputError(fmt::format("{}: unsupported float width {}", what, a.itemsize));
    }
  }
  return out;
}

}  // namespace moeroute::detail
