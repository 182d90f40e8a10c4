// GPT-2's reversible byte ↔ character map used by ByteLevel pre-tokenizers and decoders:
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100… in byte order, so
// every byte string becomes a printable string.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace moeroute::detail {

/// The character of byte `b`.
char32_t byte_to_char(unsigned char b);

/// The byte of character `c`, if `c` is one of the 256 mapped characters.
std::optional<unsigned char> char_to_byte(char32_t c);

/// `bytes` with every byte replaced by the UTF-8 of its character.
std::string bytes_to_byte_level(std::string_view bytes);

/// The bytes that the byte-level string `text` stands for, or nullopt when `text` contains a
/// character outside the map (e.g. an added token spelled in plain text).
std::optional<std::string> byte_level_to_bytes(std::string_view text);

}  // namespace moeroute::detail
