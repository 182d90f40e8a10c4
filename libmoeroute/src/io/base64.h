// Base64 (RFC 4648, standard alphabet, '=' padding) decoding, as engines encode binary arrays
// inside JSON (SGLang meta_info.routed_experts, vLLM's numpy2base64).
#pragma once

#include <string>
#include <string_view>

namespace moeroute::detail {

/// The bytes `text` encodes. Whitespace is not allowed; padding is optional. Throws InputError
/// "<what>: …" naming the offending character's offset.
std::string base64_decode(std::string_view text, const std::string& what);

}  // namespace moeroute::detail
