#include "hub/digest.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace moeroute::detail {

struct Digest::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(Kind kind, std::uint64_t size) : state_(std::make_unique<State>()) {
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx, kind == Kind::sha256 ? EVP_sha256() : EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("OpenSSL digest initialisation failed");
  if (kind == Kind::git_blob_sha1) {
    const std::string header = "blob " + std::to_string(size);
    update(header.c_str(), header.size() + 1);  // with the terminating NUL
  }
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::update(const void* data, std::size_t n) { EVP_DigestUpdate(state_->ctx, data, n); }

std::string Digest::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace moeroute::detail
