// Error types thrown by libmoeroute. Every failure the library reports derives from
// moeroute::Error; the CLI maps the kind to an exit code (docs/cli.md).
#pragma once

#include <stdexcept>
#include <string>

namespace moeroute {

/// Base of every exception libmoeroute throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The user's input is wrong: a damaged or mismatched file, an invalid option, a bad field.
/// The message names the file and the field, line or tensor at fault. CLI exit code 2.
class InputError : public Error {
 public:
  using Error::Error;
};

/// The input is well-formed but asks for something moeroute does not support (an unknown model
/// type, a dtype, a tokenizer model). CLI exit code 2.
class UnsupportedError : public InputError {
 public:
  using InputError::InputError;
};

/// Reading or writing the filesystem failed (permissions, disk full). CLI exit code 3.
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace moeroute
