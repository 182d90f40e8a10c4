// One HTTP(S) request at a time over cpp-httplib, redirects not followed (the Hub client decides
// which to follow and where the Authorization header may go). Keeps one keep-alive connection
// per origin; not thread-safe: one HttpClient per thread.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moeroute::detail {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;  ///< collected when the request has no body sink
  std::string url;   ///< the URL that was requested

  /// The first header called `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  bool is_redirect() const { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }
};

/// No HTTP response (or an incomplete body): the connection failed, broke or timed out.
class TransportError : public std::runtime_error {
 public:
  enum class Kind { connect, read, write, tls, canceled, other };
  TransportError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct HttpRequest {
  std::string method = "GET";    ///< GET or HEAD
  std::string url;               ///< absolute URL
  HttpHeaders headers;           ///< sent as given (plus Host and User-Agent)
  double read_timeout_s = 10;    ///< longest wait for the next bytes
  /// Called with status and headers before the body; false skips the body (the response is
  /// still returned). Without it every body is collected.
  std::function<bool(const HttpResponse&)> on_head;
  /// Receives the body of a response on_head accepted; false aborts the transfer
  /// (TransportError::Kind::canceled).
  std::function<bool(const char*, std::size_t)> on_body;
  std::size_t max_collected_body = std::size_t{64} << 20;  ///< cap on a collected body (64 MiB)
};

class HttpClient {
 public:
  HttpClient(double connect_timeout_s, std::string user_agent);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `request`; throws TransportError when no complete response arrived, InputError
  /// for a malformed URL.
  HttpResponse send(const HttpRequest& request);

 private:
  struct Connection;
  Connection& connection(const std::string& origin);
  double connect_timeout_s_;
  std::string user_agent_;
  std::map<std::string, std::unique_ptr<Connection>> connections_;
};

}  // namespace moeroute::detail
