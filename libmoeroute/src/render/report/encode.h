// How the report embeds data (docs/report.md, "Data"): arrays as base64 of little-endian
// integers or floats, large real-valued arrays quantised to 16 bits, JSON made safe inside
// <script>, and script hashes for the page's CSP.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace moeroute::detail {

/// {"dtype": "u8"|"u16"|"u32"|"i32"|"f32", "shape": shape, "b64": …}: the values as that type,
/// little-endian. Integer variants throw std::logic_error when a value does not fit.
nlohmann::ordered_json encode_u8(const std::vector<int32_t>& values, std::vector<int64_t> shape);
nlohmann::ordered_json encode_u16(const std::vector<int32_t>& values, std::vector<int64_t> shape);
nlohmann::ordered_json encode_u32(const std::vector<int64_t>& values, std::vector<int64_t> shape);
nlohmann::ordered_json encode_i32(const std::vector<int64_t>& values, std::vector<int64_t> shape);
nlohmann::ordered_json encode_f32(const std::vector<double>& values, std::vector<int64_t> shape);
/// Expert ids as u8 when every id < 256, else u16.
nlohmann::ordered_json encode_ids(const std::vector<int32_t>& values, std::vector<int64_t> shape);

/// The 16-bit quantisation of real values: q = round((v − lo) / (hi − lo) · 65534) for finite v,
/// 65535 for NaN; lo/hi are the finite minimum and maximum (q = 0 everywhere when hi = lo).
/// Decoded value: lo + q · (hi − lo) / 65534, off by at most (hi − lo) / 131068.
/// {"dtype": "q16", "shape", "lo", "hi", "b64"}.
nlohmann::ordered_json encode_q16(const std::vector<double>& values, std::vector<int64_t> shape);
/// The inverse, for tests: decoded values of an encode_q16 result.
std::vector<double> decode_q16(const nlohmann::ordered_json& encoded);

/// JSON text that can sit inside <script type="application/json">: '<', '>' and '&' become
/// \u003c, \u003e, \u0026 (they only occur inside strings), invalid UTF-8 becomes U+FFFD.
std::string script_safe_json(const nlohmann::ordered_json& value);

/// "sha256-<base64 digest>" of `script`, the CSP source expression that allows exactly it.
std::string csp_hash(std::string_view script);

}  // namespace moeroute::detail
