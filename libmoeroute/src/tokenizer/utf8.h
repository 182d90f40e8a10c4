// UTF-8 helpers of the tokenizer: decoding, validation and the lossy repair that both encoding
// (arbitrary input bytes) and decoding (bytes of several tokens) need.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace moeroute::detail {

/// Length (1–4) of the well-formed UTF-8 sequence starting at `s[i]`, or 0 if the bytes there
/// are not one (stray continuation byte, overlong form, surrogate, > U+10FFFF, truncated).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

/// Code point of the well-formed sequence of `len` bytes at `s[i]`.
char32_t utf8_decode(std::string_view s, std::size_t i, std::size_t len);

/// Appends the UTF-8 encoding of `cp` (must be a scalar value).
void utf8_append(std::string& out, char32_t cp);

/// True when every byte of `s` belongs to a well-formed UTF-8 sequence.
bool utf8_is_valid(std::string_view s);

/// `s` with every ill-formed part replaced by U+FFFD, one per maximal subpart (Unicode §3.9,
/// "U+FFFD substitution of maximal subparts") — what Rust's `String::from_utf8_lossy` and
/// Python's `bytes.decode("utf-8", "replace")` produce.
std::string utf8_repair(std::string_view s);

}  // namespace moeroute::detail
