// A tiny HTTP/1.1 server on 127.0.0.1 for tests: each request goes to a
// handler; replies can be cut short or stalled to exercise failure paths.
// Header-only so unit tests (which build only *_test.cc files) can use it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace crid::testing {

struct HttpRequest {
  std::string method;
  std::string path;  // with the query string
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Close the connection after this many body bytes (Content-Length still
  // announces the whole body): a truncated transfer.
  size_t cut_after = std::string::npos;
  // Send nothing more after the headers for this long (a stalled transfer).
  std::chrono::milliseconds stall{0};
};

class LoopbackHttpServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;

  explicit LoopbackHttpServer(Handler handler) : handler_(std::move(handler)) {
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

  ~LoopbackHttpServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::vector<std::thread> conns;
    {
      std::lock_guard lock(mu_);
      conns.swap(connections_);
    }
    for (auto& t : conns) t.join();
  }

  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host(); }

  // Requests seen so far (method + " " + path).
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  // Full requests (headers and bodies) in arrival order.
  std::vector<HttpRequest> full_requests() const {
    std::lock_guard lock(mu_);
    return full_log_;
  }
  int count(const std::string& needle) const {
    auto all = requests();
    return static_cast<int>(std::count_if(all.begin(), all.end(),
                                           [&](auto& r) { return r.find(needle) != std::string::npos; }));
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      std::lock_guard lock(mu_);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Reads with a poll so a stopping server never hangs on an idle client.
  bool read_some(int fd, std::string& buf) {
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 200);
      if (r == 0) {
        if (stopping_) return false;
        continue;
      }
      if (r < 0) return false;
      char tmp[16384];
      ssize_t n = ::read(fd, tmp, sizeof tmp);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
      return true;
    }
  }

  static void send_all(int fd, const char* data, size_t len) {
    while (len > 0) {
      ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
      if (n <= 0) return;
      data += n;
      len -= static_cast<size_t>(n);
    }
  }

  void serve(int fd) {
    std::string buf;
    for (;;) {  // keep-alive: several requests per connection
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos)
        if (!read_some(fd, buf)) {
          ::close(fd);
          return;
        }
      HttpRequest req;
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t line_end = head.find("\r\n");
      std::string first = head.substr(0, line_end);
      size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
      req.method = first.substr(0, sp1);
      req.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(), ::tolower);
          size_t v = line.find_first_not_of(' ', colon + 1);
          req.headers[name] = v == std::string::npos ? "" : line.substr(v);
        }
        pos = e + 2;
      }
      size_t body_len = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
      while (buf.size() < body_len)
        if (!read_some(fd, buf)) {
          ::close(fd);
          return;
        }
      req.body = buf.substr(0, body_len);
      buf.erase(0, body_len);
      {
        std::lock_guard lock(mu_);
        log_.push_back(req.method + " " + req.path);
        full_log_.push_back(req);
      }
      HttpReply reply = handler_(req);
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n";
      for (auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
      send_all(fd, out.data(), out.size());
      if (reply.stall.count() > 0) {
        auto until = std::chrono::steady_clock::now() + reply.stall;
        while (!stopping_ && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (req.method != "HEAD") {
        size_t n = std::min(reply.body.size(), reply.cut_after);
        send_all(fd, reply.body.data(), n);
        if (n < reply.body.size()) break;
      }
    }
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<std::string> log_;
  std::vector<HttpRequest> full_log_;
};

}  // namespace crid::testing
