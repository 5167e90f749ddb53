#include "support/throttling_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace crid::testing {

namespace {

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

ThrottlingProxy::ThrottlingProxy(int upstream_port, int64_t bytes_per_second)
    : upstream_port_(upstream_port), rate_(bytes_per_second) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ThrottlingProxy::~ThrottlingProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> relays;
  {
    std::lock_guard lock(mu_);
    relays.swap(relays_);
  }
  for (auto& t : relays) t.join();
}

void ThrottlingProxy::accept_loop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mu_);
    relays_.emplace_back([this, fd] { relay(fd); });
  }
}

// One thread per connection, polling both sides: client bytes go up at once,
// server bytes come down in small slices paced to the rate.
void ThrottlingProxy::relay(int client) {
  int server = connect_loopback(upstream_port_);
  if (server < 0) {
    ::close(client);
    return;
  }
  ++open_;
  constexpr size_t kSlice = 16 * 1024;
  char buf[kSlice];
  bool open = true;
  while (open && !stopping_) {
    pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (::poll(p, 2, 100) < 0) break;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(client, buf, sizeof buf);
      open = n > 0 && send_all(server, buf, static_cast<size_t>(n));
    }
    if (open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = ::read(server, buf, sizeof buf);
      open = n > 0 && send_all(client, buf, static_cast<size_t>(n));
      if (open) relayed_ += n;
      int64_t rate = rate_;
      if (open && rate > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(n * 1000000 / rate));
    }
  }
  --open_;
  ::close(server);
  ::close(client);
}

}  // namespace crid::testing
