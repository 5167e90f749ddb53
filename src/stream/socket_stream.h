// ByteStream over an accepted TCP socket, plain or TLS (OpenSSL). Bytes
// the server read past the HTTP head (a client may send its first SPDY
// frames right behind the request) are served first.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "stream/byte_stream.h"
#include "util/unique_fd.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace crid::stream {

// Owns the server's TLS context (certificate and key loaded once).
class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> load(const std::string& cert, const std::string& key);
  ~TlsContext();
  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

// The socket is made non-blocking; read() and write_all() wait with poll.
// With `tls`, handshake() must succeed before anything else.
class SocketStream final : public ByteStream {
 public:
  SocketStream(UniqueFd fd, std::string peer, std::shared_ptr<TlsContext> tls);
  ~SocketStream() override;

  // TLS handshake (no-op for plain), bounded by `timeout_ms`.
  Status handshake(int timeout_ms);
  // Reads at most `max` bytes of the request head (up to and including the
  // empty line) within `timeout_ms`; the rest stays buffered for read().
  Result<std::string> read_head(size_t max, int timeout_ms);

  Result<size_t> read(void* buf, size_t len) override;
  Status write_all(const void* data, size_t len) override;
  void shutdown() override;
  int fd() const override { return fd_.get(); }
  size_t pending() const override;
  std::string peer() const override { return peer_; }

 private:
  struct Tls;
  Result<size_t> raw_read(void* buf, size_t len);  // non-blocking; 0 = EOF, error EAGAIN
  UniqueFd fd_;
  std::string peer_;
  std::string prefix_;
  std::unique_ptr<Tls> tls_;
  std::mutex write_mu_;
  std::atomic<bool> shut_{false};
};

}  // namespace crid::stream
