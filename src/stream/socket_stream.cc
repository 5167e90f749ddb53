#include "stream/socket_stream.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <mutex>

namespace crid::stream {

namespace {

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// Waits for `events` on fd; false on timeout. timeout_ms < 0: no limit.
Result<bool> wait_for(int fd, short events, int timeout_ms) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return sys_error("poll");
    return rc > 0;
  }
}

Error closed_error() { return make_error(ErrorKind::kUnavailable, "connection closed"); }

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::load(const std::string& cert,
                                                     const std::string& key) {
  auto ctx = std::shared_ptr<TlsContext>(new TlsContext());
  ctx->ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx->ctx_) return make_error(ErrorKind::kInternal, "SSL_CTX_new: {}", ssl_error_text());
  SSL_CTX_set_min_proto_version(ctx->ctx_, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx->ctx_, cert.c_str()) != 1)
    return make_error(ErrorKind::kInvalidArgument, "loading stream TLS certificate {}: {}", cert,
                      ssl_error_text());
  if (SSL_CTX_use_PrivateKey_file(ctx->ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(ErrorKind::kInvalidArgument, "loading stream TLS key {}: {}", key,
                      ssl_error_text());
  if (SSL_CTX_check_private_key(ctx->ctx_) != 1)
    return make_error(ErrorKind::kInvalidArgument, "stream TLS key {} does not match {}", key,
                      cert);
  // write_all() retries with the same buffer, but from a moved pointer.
  SSL_CTX_set_mode(ctx->ctx_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

// OpenSSL forbids concurrent calls on one SSL: `mu` serialises them, and
// with a non-blocking socket no call holds it while waiting.
struct SocketStream::Tls {
  std::shared_ptr<TlsContext> ctx;
  SSL* ssl = nullptr;
  mutable std::mutex mu;
  ~Tls() {
    if (ssl) SSL_free(ssl);
  }
};

SocketStream::SocketStream(UniqueFd fd, std::string peer, std::shared_ptr<TlsContext> tls)
    : fd_(std::move(fd)), peer_(std::move(peer)) {
  ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) | O_NONBLOCK);
  if (tls) {
    tls_ = std::make_unique<Tls>();
    tls_->ctx = std::move(tls);
    tls_->ssl = SSL_new(tls_->ctx->get());
    if (tls_->ssl) SSL_set_fd(tls_->ssl, fd_.get());
  }
}

SocketStream::~SocketStream() = default;

Status SocketStream::handshake(int timeout_ms) {
  if (!tls_) return Ok();
  if (!tls_->ssl) return make_error(ErrorKind::kInternal, "SSL_new: {}", ssl_error_text());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int rc = SSL_accept(tls_->ssl);
    if (rc == 1) return Ok();
    int err = SSL_get_error(tls_->ssl, rc);
    short ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (ev == 0)
      return make_error(ErrorKind::kInvalidArgument, "TLS handshake with {}: {}", peer_,
                        ssl_error_text());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    CRID_ASSIGN(bool ready, wait_for(fd_.get(), ev, static_cast<int>(std::max<int64_t>(left, 0))));
    if (!ready)
      return make_error(ErrorKind::kDeadlineExceeded, "TLS handshake with {} timed out", peer_);
  }
}

Result<size_t> SocketStream::raw_read(void* buf, size_t len) {
  if (!tls_) {
    ssize_t n = ::recv(fd_.get(), buf, len, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return Error(ErrorKind::kUnavailable, "would block", EAGAIN);
      return sys_error("reading from {}", peer_);
    }
    return static_cast<size_t>(n);
  }
  std::lock_guard lock(tls_->mu);
  int n = SSL_read(tls_->ssl, buf, static_cast<int>(std::min<size_t>(len, 1 << 30)));
  if (n > 0) return static_cast<size_t>(n);
  int err = SSL_get_error(tls_->ssl, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
    return Error(ErrorKind::kUnavailable, "would block", EAGAIN);
  if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
  ERR_clear_error();
  return size_t{0};  // a broken TLS stream ends the session like a close
}

Result<std::string> SocketStream::read_head(size_t max, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string buf;
  char chunk[4096];
  for (;;) {
    size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      prefix_ = buf.substr(end + 4);
      buf.resize(end + 4);
      return buf;
    }
    if (buf.size() > max)
      return make_error(ErrorKind::kResourceExhausted, "request head over {} bytes", max);
    auto n = raw_read(chunk, sizeof(chunk));
    if (n) {
      if (*n == 0) return closed_error();
      buf.append(chunk, *n);
      continue;
    }
    if (n.error().sys_errno() != EAGAIN) return n.error();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return make_error(ErrorKind::kDeadlineExceeded, "no request head in time");
    CRID_ASSIGN(bool ready, wait_for(fd_.get(), POLLIN, static_cast<int>(left)));
    (void)ready;
  }
}

Result<size_t> SocketStream::read(void* buf, size_t len) {
  if (!prefix_.empty()) {
    size_t n = std::min(len, prefix_.size());
    std::memcpy(buf, prefix_.data(), n);
    prefix_.erase(0, n);
    return n;
  }
  for (;;) {
    auto n = raw_read(buf, len);
    if (n || n.error().sys_errno() != EAGAIN) return n;
    CRID_ASSIGN(bool ready, wait_for(fd_.get(), POLLIN, -1));
    (void)ready;
  }
}

Status SocketStream::write_all(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  // One writer at a time, so frames never interleave; with TLS the SSL
  // lock is taken only around each call.
  std::lock_guard write_lock(write_mu_);
  while (len > 0) {
    short wait_ev = POLLOUT;
    if (!tls_) {
      ssize_t n = ::send(fd_.get(), p, len, MSG_NOSIGNAL);
      if (n > 0) {
        p += n;
        len -= static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return sys_error("writing to {}", peer_);
    } else {
      std::unique_lock lock(tls_->mu);
      int n = SSL_write(tls_->ssl, p, static_cast<int>(std::min<size_t>(len, 1 << 30)));
      if (n > 0) {
        p += n;
        len -= static_cast<size_t>(n);
        continue;
      }
      int err = SSL_get_error(tls_->ssl, n);
      if (err == SSL_ERROR_WANT_READ)
        wait_ev = POLLIN;
      else if (err != SSL_ERROR_WANT_WRITE) {
        std::string why = ssl_error_text();
        return make_error(ErrorKind::kUnavailable, "writing to {}: {}", peer_, why);
      }
    }
    // A peer that stops reading for long is caught by the idle timeout of
    // the session, which shuts the socket down: POLLHUP ends this wait.
    CRID_ASSIGN(bool ready, wait_for(fd_.get(), wait_ev, 1000));
    (void)ready;
    if (shut_.load()) return closed_error();
  }
  return Ok();
}

void SocketStream::shutdown() {
  shut_.store(true);
  ::shutdown(fd_.get(), SHUT_RDWR);
}

size_t SocketStream::pending() const {
  size_t n = prefix_.size();
  if (tls_) {
    std::lock_guard lock(tls_->mu);
    n += static_cast<size_t>(SSL_pending(tls_->ssl));
  }
  return n;
}

}  // namespace crid::stream
