// cpp-httplib as Debian builds it (0.11, with CPPHTTPLIB_OPENSSL_SUPPORT: our compile flags come
// from its pkg-config file so the class layout matches the shared library). HTTPS verifies the
// server certificate and host name against OpenSSL's default trust store, which honours
// SSL_CERT_FILE and SSL_CERT_DIR.
#include "hub/http_client.h"

#include <httplib.h>
#include <openssl/x509.h>

#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "hub/url.h"
#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

template <class F>
void with_seconds(double s, F set) {
  const double whole = std::floor(s);
  set(static_cast<time_t>(whole), static_cast<time_t>((s - whole) * 1e6));
}

TransportError transport_error(httplib::Error err, const std::string& url, long verify_result) {
  using K = TransportError::Kind;
  switch (err) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      return {K::connect, fmt::format("cannot connect to {}", url)};
    case httplib::Error::Read:
      return {K::read, fmt::format("connection to {} broke or timed out while reading", url)};
    case httplib::Error::Write:
      return {K::write, fmt::format("connection to {} broke while sending", url)};
    case httplib::Error::Canceled:
      return {K::canceled, fmt::format("transfer from {} canceled", url)};
    case httplib::Error::SSLServerVerification:
      return {K::tls, fmt::format("TLS certificate of {} not trusted: {} (trusted CAs come from OpenSSL's default "
                                  "store; SSL_CERT_FILE or SSL_CERT_DIR point elsewhere)",
                                  url, X509_verify_cert_error_string(verify_result))};
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
      return {K::tls, fmt::format("TLS connection to {} failed ({})", url, httplib::to_string(err))};
    default:
      return {K::other, fmt::format("request to {} failed ({})", url, httplib::to_string(err))};
  }
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return "";
}

bool HttpResponse::has_header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return true;
  return false;
}

struct HttpClient::Connection {
  explicit Connection(const std::string& origin) : client(origin) {}
  httplib::Client client;
};

HttpClient::HttpClient(double connect_timeout_s, std::string user_agent)
    : connect_timeout_s_(connect_timeout_s), user_agent_(std::move(user_agent)) {}

HttpClient::~HttpClient() = default;

HttpClient::Connection& HttpClient::connection(const std::string& origin) {
  auto& c = connections_[origin];
  if (!c) {
    c = std::make_unique<Connection>(origin);
    c->client.set_keep_alive(true);
    c->client.set_follow_location(false);
    c->client.set_url_encode(false);  // our targets are already percent-encoded
    with_seconds(connect_timeout_s_, [&](time_t s, time_t us) { c->client.set_connection_timeout(s, us); });
  }
  return *c;
}

HttpResponse HttpClient::send(const HttpRequest& request) {
  const Url url = parse_url(request.url);
  Connection& conn = connection(url.origin());
  with_seconds(request.read_timeout_s, [&](time_t s, time_t us) { conn.client.set_read_timeout(s, us); });

  httplib::Headers headers;
  bool has_agent = false;
  for (const auto& [k, v] : request.headers) {
    headers.emplace(k, v);
    has_agent = has_agent || iequals(k, "User-Agent");
  }
  if (!has_agent) headers.emplace("User-Agent", user_agent_);

  HttpResponse response;
  response.url = request.url;
  bool body_accepted = true;
  bool body_too_large = false;
  const auto on_response = [&](const httplib::Response& r) {
    response.status = r.status;
    for (const auto& [k, v] : r.headers) response.headers.emplace_back(k, v);
    body_accepted = !request.on_head || request.on_head(response);
    return body_accepted;
  };
  const auto on_data = [&](const char* data, std::size_t n) {
    if (request.on_head && request.on_body) return request.on_body(data, n);
    if (response.body.size() + n > request.max_collected_body) {
      body_too_large = true;
      return false;
    }
    response.body.append(data, n);
    return true;
  };

  httplib::Result result = request.method == "HEAD" ? conn.client.Head(url.target.c_str(), headers)
                                                    : conn.client.Get(url.target.c_str(), headers, on_response, on_data);
  if (request.method == "HEAD" && result) on_response(result.value());
  if (body_too_large)
    throw TransportError(TransportError::Kind::other,
                         fmt::format("response of {} is larger than {} bytes", request.url, request.max_collected_body));
  if (result.error() == httplib::Error::Canceled && !body_accepted) return response;  // skipped on purpose
  if (result.error() != httplib::Error::Success) {
    TransportError error = transport_error(result.error(), request.url, conn.client.get_openssl_verify_result());
    connections_.erase(url.origin());  // a broken connection is not reused
    throw error;
  }
  return response;
}

}  // namespace moeroute::detail
