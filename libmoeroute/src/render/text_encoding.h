// Text encodings the SVG writer and the HTML report share: base64 and XML/HTML escaping.
#pragma once

#include <string>
#include <string_view>

namespace moeroute::plot::detail {

/// RFC 4648 base64 with padding.
std::string base64(std::string_view bytes);

/// The bytes of a base64 text (padding optional); throws std::invalid_argument on other characters.
std::string unbase64(std::string_view text);

/// Text for XML/HTML element content or a double-quoted attribute: & < > " become entities.
std::string xml_escape(std::string_view text);

}  // namespace moeroute::plot::detail
