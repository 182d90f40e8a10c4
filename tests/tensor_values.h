// The values of a tensor of a safetensors file as a std::vector<T>, for tests that read goldens.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "moeroute/safetensors.h"

namespace moeroute::test {

template <class T>
std::vector<T> tensor_values(const SafetensorsFile& f, const std::string& name) {
  const auto bytes = f.bytes(name);
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace moeroute::test
