#include "render/report/encode.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "render/text_encoding.h"

namespace moeroute::detail {

using plot::detail::base64;
using plot::detail::unbase64;

namespace {

constexpr uint16_t kNanCode = 65535;
constexpr double kSteps = 65534.0;

template <typename T>
void append_le(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff));
}

nlohmann::ordered_json wrap(const char* dtype, std::vector<int64_t> shape, const std::string& bytes) {
  nlohmann::ordered_json j;
  j["dtype"] = dtype;
  j["shape"] = std::move(shape);
  j["b64"] = base64(bytes);
  return j;
}

template <typename Out, typename In>
std::string pack_integers(const std::vector<In>& values, const char* dtype) {
  std::string bytes;
  bytes.reserve(values.size() * sizeof(Out));
  for (In v : values) {
    if (v < static_cast<In>(std::numeric_limits<Out>::min()) || static_cast<int64_t>(v) > static_cast<int64_t>(std::numeric_limits<Out>::max()))
      throw std::logic_error(fmt::format("report: value {} does not fit {}", static_cast<int64_t>(v), dtype));
    append_le(bytes, static_cast<Out>(v));
  }
  return bytes;
}

}  // namespace

nlohmann::ordered_json encode_u8(const std::vector<int32_t>& v, std::vector<int64_t> shape) {
  return wrap("u8", std::move(shape), pack_integers<uint8_t>(v, "u8"));
}
nlohmann::ordered_json encode_u16(const std::vector<int32_t>& v, std::vector<int64_t> shape) {
  return wrap("u16", std::move(shape), pack_integers<uint16_t>(v, "u16"));
}
nlohmann::ordered_json encode_u32(const std::vector<int64_t>& v, std::vector<int64_t> shape) {
  return wrap("u32", std::move(shape), pack_integers<uint32_t>(v, "u32"));
}
nlohmann::ordered_json encode_i32(const std::vector<int64_t>& v, std::vector<int64_t> shape) {
  return wrap("i32", std::move(shape), pack_integers<int32_t>(v, "i32"));
}
nlohmann::ordered_json encode_ids(const std::vector<int32_t>& v, std::vector<int64_t> shape) {
  const bool small = std::all_of(v.begin(), v.end(), [](int32_t x) { return x >= 0 && x < 256; });
  return small ? encode_u8(v, std::move(shape)) : encode_u16(v, std::move(shape));
}

nlohmann::ordered_json encode_f32(const std::vector<double>& v, std::vector<int64_t> shape) {
  std::string bytes;
  bytes.reserve(v.size() * 4);
  for (double x : v) {
    const float f = static_cast<float>(x);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    append_le(bytes, u);
  }
  return wrap("f32", std::move(shape), bytes);
}

nlohmann::ordered_json encode_q16(const std::vector<double>& v, std::vector<int64_t> shape) {
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!(lo <= hi)) lo = hi = 0;  // no finite value
  const double span = hi - lo;
  std::string bytes;
  bytes.reserve(v.size() * 2);
  for (double x : v) {
    uint16_t q = kNanCode;
    if (std::isfinite(x)) q = span > 0 ? static_cast<uint16_t>(std::lround((x - lo) / span * kSteps)) : 0;
    append_le(bytes, q);
  }
  nlohmann::ordered_json j;
  j["dtype"] = "q16";
  j["shape"] = std::move(shape);
  j["lo"] = lo;
  j["hi"] = hi;
  j["b64"] = base64(bytes);
  return j;
}

std::vector<double> decode_q16(const nlohmann::ordered_json& e) {
  const std::string bytes = unbase64(e.at("b64").get<std::string>());
  const double lo = e.at("lo").get<double>(), hi = e.at("hi").get<double>();
  std::vector<double> out;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    const uint16_t q = static_cast<uint16_t>(uint8_t(bytes[i]) | (uint8_t(bytes[i + 1]) << 8));
    out.push_back(q == kNanCode ? std::nan("") : lo + q * (hi - lo) / kSteps);
  }
  return out;
}

std::string script_safe_json(const nlohmann::ordered_json& value) {
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 64);
  for (char ch : text) {
    switch (ch) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string csp_hash(std::string_view script) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(script.data(), script.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("report: OpenSSL could not compute SHA-256");
  return "sha256-" + base64(std::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace moeroute::detail
