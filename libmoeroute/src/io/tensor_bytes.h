// Host vectors as safetensors tensor bytes and back (little-endian hosts, as the format).
#pragma once

#include <cstring>
#include <string_view>
#include <vector>

namespace moeroute::detail {

/// The bytes of `v`'s elements, for SafetensorsWriter::add.
template <typename T>
std::string_view as_bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

/// A tensor's bytes (SafetensorsFile::bytes) copied into a vector of T.
template <typename T>
std::vector<T> copy_out(std::string_view bytes) {
  std::vector<T> v(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

}  // namespace moeroute::detail
