// A small blocking SPDY/3.1 client for tests, speaking the way
// Kubernetes' client does: an HTTP upgrade with X-Stream-Protocol-Version,
// then client-initiated streams (odd ids) whose SYN_REPLY it waits for.
// Built on crid's own frame codec; a reader thread collects each stream's
// data, FIN and RST.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stream/spdy_frame.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::testing {

struct HttpResponseHead {
  int code = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // for a refusal: what the server said (up to Content-Length)
  std::string header(const std::string& name) const;  // "" when absent
};

class SpdyClient {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kWait{20};

  explicit SpdyClient(UniqueFd fd);
  ~SpdyClient();

  // A TCP connection to "http://host:port/..." (plain HTTP only).
  static Result<UniqueFd> dial(const std::string& url);
  // The path part of a URL.
  static std::string path_of(const std::string& url);

  // Sends "POST <path>" with the upgrade headers (and the protocols, unless
  // empty) and reads the response head. On 101 the frame reader starts.
  Result<HttpResponseHead> upgrade(const std::string& path,
                                   const std::vector<std::string>& protocols,
                                   const std::string& method = "POST");
  // Reads a response head (for a server that was handed the request some
  // other way); on 101 the frame reader starts.
  Result<HttpResponseHead> read_response();

  // Opens a stream and waits for its SYN_REPLY; an error when reset.
  Result<uint32_t> open_stream(const stream::spdy::HeaderList& headers, bool fin = false);
  Status send(uint32_t id, std::string_view data, bool fin = false);
  Status send_raw(std::string_view bytes);
  // Waits until the stream has at least `n` bytes or ended; returns and
  // removes what is there.
  std::string read(uint32_t id, size_t n, std::chrono::milliseconds wait = kWait);
  // Everything until the server's FIN (or RST, or the connection ends).
  std::string read_all(uint32_t id, std::chrono::milliseconds wait = kWait);
  bool finished(uint32_t id);  // FIN or RST seen
  bool was_reset(uint32_t id);
  // Waits for a PING echo.
  bool ping(uint32_t id, std::chrono::milliseconds wait = kWait);
  // Waits (up to `wait`) for the server's GOAWAY.
  bool goaway_received(std::chrono::milliseconds wait = kWait);
  // True once the server closed the TCP connection (within `wait`).
  bool wait_closed(std::chrono::milliseconds wait = kWait);
  // Closes the socket (as a client that goes away).
  void close();

 private:
  struct StreamState {
    bool replied = false, fin = false, reset = false;
    std::string data;
  };
  void reader();

  UniqueFd fd_;
  std::string pending_;  // read past the response head
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::mutex send_mu_;
  stream::spdy::HeaderCompressor compressor_;
  std::map<uint32_t, StreamState> streams_;
  uint32_t next_id_ = 1;
  std::vector<uint32_t> pings_;
  bool goaway_ = false, closed_ = false;
};

}  // namespace crid::testing
