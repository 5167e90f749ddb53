// A TCP relay on 127.0.0.1 in front of a server (a registry), passing the
// server's replies on at a limited rate: a slow network on loopback, so a
// test can act while a large transfer is in flight. Counts what it relayed
// and the connections still open.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace crid::testing {

class ThrottlingProxy {
 public:
  // Relays to 127.0.0.1:`upstream_port`, server-to-client at most
  // `bytes_per_second` (0: unlimited).
  ThrottlingProxy(int upstream_port, int64_t bytes_per_second);
  ~ThrottlingProxy();
  ThrottlingProxy(const ThrottlingProxy&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_rate(int64_t bytes_per_second) { rate_ = bytes_per_second; }
  // Server-to-client bytes relayed so far.
  int64_t bytes_relayed() const { return relayed_; }
  // Client connections not yet closed by either side.
  int open_connections() const { return open_; }

 private:
  void accept_loop();
  void relay(int client_fd);

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int64_t> rate_;
  std::atomic<int64_t> relayed_{0};
  std::atomic<int> open_{0};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> relays_;
};

}  // namespace crid::testing
