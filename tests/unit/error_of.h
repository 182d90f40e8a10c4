// The message of the InputError a call throws, for tests that compare whole error messages.
#pragma once

#include <functional>
#include <string>

#include "moeroute/error.h"

namespace moeroute::test {

/// what() of the InputError `f` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace moeroute::test
