// URLs as the Hub client needs them: split into origin and target, relative references resolved
// (RFC 3986 §5.2, for redirects), and percent-encoding of path parts.
#pragma once

#include <string>
#include <string_view>

namespace moeroute::detail {

struct Url {
  std::string scheme;  ///< "http" or "https"
  std::string host;    ///< lower-case host name or address
  int port = 0;        ///< explicit or the scheme's default
  std::string target;  ///< path and query, starting with '/'

  /// "scheme://host:port": the unit of trust for the Authorization header.
  std::string origin() const;
  std::string str() const;
};

/// Parses an absolute http(s) URL. Throws InputError naming `what` (e.g. "HF_ENDPOINT").
Url parse_url(std::string_view url, std::string_view what = "URL");

/// `ref` (a redirect's Location: absolute, "//host/…", "/path" or "relative") against `base`.
std::string resolve_reference(std::string_view base, std::string_view ref);

/// Percent-encodes every byte except unreserved characters and those in `safe`
/// (Python's urllib.parse.quote).
std::string percent_encode(std::string_view s, std::string_view safe = "/");

}  // namespace moeroute::detail
