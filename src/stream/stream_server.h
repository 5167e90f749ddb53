// stream::StreamServer: the HTTP server behind the URLs that Exec, Attach
// and PortForward return. Each URL carries a single-use token; a client
// that presents a live token gets its connection upgraded to SPDY/3.1 or
// WebSocket and served on a thread of its own. Unknown, reused or expired
// tokens get 404; over `max_sessions` concurrent sessions, 503.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "stream/requests.h"
#include "stream/stream_backend.h"
#include "stream/token_cache.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::stream {

class TlsContext;
class SocketStream;

struct StreamServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  std::string tls_cert, tls_key;  // both set: HTTPS
  size_t max_sessions = 64;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(15)};
  std::chrono::milliseconds token_ttl{std::chrono::minutes(1)};
  std::chrono::milliseconds stream_creation_timeout{std::chrono::seconds(30)};
  // Time a client has for its TLS handshake and request head.
  std::chrono::milliseconds head_timeout{std::chrono::seconds(10)};
  TokenCache::Clock clock;  // tests: a fake clock for token expiry
};

class StreamServer {
 public:
  // Binds and starts accepting; the backend must outlive the server.
  static Result<std::unique_ptr<StreamServer>> start(StreamServerOptions opts,
                                                     StreamBackend& backend);
  ~StreamServer();  // stop()

  // A fresh URL for `req`: "http(s)://<addr>:<port>/<exec|attach|portforward>/<token>".
  Result<std::string> get_url(StreamRequest req);
  // "http://127.0.0.1:41234", for logs.
  std::string base_url() const { return base_url_; }
  uint16_t port() const { return port_; }
  size_t active_sessions() const { return active_.load(); }

  // Stops accepting, shuts every open session down and joins all threads.
  void stop();

 private:
  struct Session {
    std::thread thread;
    std::atomic<bool> done{false};
    // A duplicate of the client socket: stop() shuts it down, which ends
    // the session's reads and writes.
    UniqueFd sock;
  };

  StreamServer(StreamServerOptions opts, StreamBackend& backend);
  void accept_loop();
  void serve(Session& s, UniqueFd fd, std::string peer, bool over_limit);
  void reap(bool all);

  StreamServerOptions opts_;
  StreamBackend& backend_;
  TokenCache tokens_;
  std::shared_ptr<TlsContext> tls_;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;
  uint16_t port_ = 0;
  std::string base_url_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> active_{0};
  std::mutex sessions_mu_;
  std::list<std::unique_ptr<Session>> sessions_;
};

}  // namespace crid::stream
