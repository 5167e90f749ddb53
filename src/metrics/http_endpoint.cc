#include "metrics/http_endpoint.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "metrics/exposition.h"
#include "util/log.h"

namespace crid::metrics {

namespace {

using Clock = std::chrono::steady_clock;
// A scrape that takes longer than this is abandoned.
constexpr auto kConnectionDeadline = std::chrono::seconds(10);
constexpr size_t kMaxRequestHead = 8192;

std::string reply(int code, const char* reason, std::string_view content_type, const std::string& body,
                  bool with_body) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", code, reason,
      content_type, body.size());
  if (with_body) out += body;
  return out;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

std::string http_response(std::string_view head, const RenderFn& render) {
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1."))
    return reply(400, "Bad Request", "text/plain", "not an HTTP/1.x request\n", true);
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  // The query string is ignored (Prometheus may add ?name[]=... filters).
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return reply(404, "Not Found", "text/plain", "only /metrics is served here\n", true);
  if (method != "GET" && method != "HEAD")
    return reply(405, "Method Not Allowed", "text/plain", "use GET\n", true);
  return reply(200, "OK", kTextContentType, render(), method == "GET");
}

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::start(const ListenAddress& addr, RenderFn render) {
  std::unique_ptr<MetricsEndpoint> ep(new MetricsEndpoint(addr, std::move(render)));
  std::string where = addr.str();
  if (addr.is_unix) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return sys_error("metrics endpoint {}: socket", where);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, addr.path.c_str(), sizeof(sa.sun_path) - 1);
    // A socket left by an earlier daemon (the root lock says none runs now).
    struct stat st {};
    if (::lstat(addr.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(addr.path.c_str());
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      return sys_error("metrics endpoint {}: bind", where);
    ::chmod(addr.path.c_str(), 0660);
    ep->listen_ = std::move(fd);
  } else {
    int family = addr.ipv6 ? AF_INET6 : AF_INET;
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return sys_error("metrics endpoint {}: socket", where);
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (addr.ipv6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(addr.port);
      inet_pton(AF_INET6, addr.host.c_str(), &s6->sin6_addr);
      len = sizeof(*s6);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(addr.port);
      inet_pton(AF_INET, addr.host.c_str(), &s4->sin_addr);
      len = sizeof(*s4);
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
      return sys_error("metrics endpoint {}: bind", where);
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
      ep->addr_.port = ntohs(addr.ipv6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                       : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    ep->listen_ = std::move(fd);
  }
  if (::listen(ep->listen_.get(), 16) != 0) return sys_error("metrics endpoint {}: listen", where);
  ep->wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!ep->wake_.valid()) return sys_error("metrics endpoint {}: eventfd", where);
  ep->thread_ = std::thread([p = ep.get()] { p->run(); });
  spdlog::info("[metrics] serving Prometheus metrics on {}/metrics", ep->addr_.str());
  return ep;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
    thread_.join();
  }
  if (addr_.is_unix && listen_.valid()) ::unlink(addr_.path.c_str());
}

void MetricsEndpoint::run() {
  for (;;) {
    pollfd p[2] = {{listen_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("[metrics] poll: {}", std::strerror(errno));
      return;
    }
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn.valid()) continue;
    serve(conn.get());
  }
}

void MetricsEndpoint::serve(int fd) {
  auto deadline = Clock::now() + kConnectionDeadline;
  std::string head;
  char buf[2048];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxRequestHead) {
      head.clear();  // answered as a bad request below
      break;
    }
    if (!wait_for(fd, POLLIN, deadline)) return;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;
    head.append(buf, n);
  }
  std::string out = http_response(head, render_);
  size_t sent = 0;
  while (sent < out.size()) {
    if (!wait_for(fd, POLLOUT, deadline)) return;
    ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;
    sent += n;
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace crid::metrics
