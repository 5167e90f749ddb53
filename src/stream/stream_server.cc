#include "stream/stream_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "stream/http_head.h"
#include "stream/socket_stream.h"
#include "stream/spdy_session.h"
#include "stream/websocket_session.h"
#include "util/printable.h"

namespace crid::stream {

namespace {

constexpr size_t kMaxHead = 16 * 1024;

std::string format_addr(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    return fmt::format("[{}]:{}", host, ntohs(a->sin6_port));
  }
  auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
  return fmt::format("{}:{}", host, ntohs(a->sin_port));
}

const char* kind_of(const StreamRequest& r) {
  if (std::holds_alternative<ExecRequest>(r)) return "exec";
  if (std::holds_alternative<AttachRequest>(r)) return "attach";
  return "portforward";
}

void answer(SocketStream& conn, int code, const char* reason, const std::string& body) {
  std::string resp = http_response(code, reason, body + "\n");
  (void)conn.write_all(resp.data(), resp.size());
}

}  // namespace

StreamServer::StreamServer(StreamServerOptions opts, StreamBackend& backend)
    : opts_(std::move(opts)),
      backend_(backend),
      tokens_(opts_.token_ttl, 4096, opts_.clock) {}

Result<std::unique_ptr<StreamServer>> StreamServer::start(StreamServerOptions opts,
                                                          StreamBackend& backend) {
  std::unique_ptr<StreamServer> s(new StreamServer(std::move(opts), backend));
  const auto& o = s->opts_;
  if (!o.tls_cert.empty() || !o.tls_key.empty()) {
    CRID_ASSIGN(s->tls_, TlsContext::load(o.tls_cert, o.tls_key));
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  int rc = getaddrinfo(o.address.c_str(), port.c_str(), &hints, &res);
  if (rc != 0)
    return make_error(ErrorKind::kInvalidArgument, "stream_address {} is not an IP address: {}",
                      printable(o.address), gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, freeaddrinfo);
  UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error("creating the streaming server socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0)
    return sys_error("binding the streaming server to {}:{}", o.address, o.port);
  if (::listen(fd.get(), 128) != 0) return sys_error("listen on {}:{}", o.address, o.port);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  s->port_ = ntohs(bound.ss_family == AF_INET6
                       ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                       : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  std::string host = o.address;
  if (host == "0.0.0.0") host = "127.0.0.1";  // a usable address for local clients
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  s->base_url_ = fmt::format("{}://{}:{}", s->tls_ ? "https" : "http", host, s->port_);
  s->listen_fd_ = std::move(fd);
  s->stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->stop_fd_.valid()) return sys_error("eventfd for the streaming server");
  s->acceptor_ = std::thread([srv = s.get()] { srv->accept_loop(); });
  return s;
}

StreamServer::~StreamServer() { stop(); }

Result<std::string> StreamServer::get_url(StreamRequest req) {
  const char* kind = kind_of(req);
  CRID_ASSIGN(std::string token, tokens_.insert(std::move(req)));
  return fmt::format("{}/{}/{}", base_url_, kind, token);
}

void StreamServer::stop() {
  if (stopping_.exchange(true)) return;
  uint64_t one = 1;
  (void)!::write(stop_fd_.get(), &one, sizeof(one));
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& s : sessions_)
      if (s->sock.valid()) ::shutdown(s->sock.get(), SHUT_RDWR);
  }
  reap(true);
}

void StreamServer::reap(bool all) {
  std::list<std::unique_ptr<Session>> finished;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (all || (*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : finished) s->thread.join();
}

void StreamServer::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    int rc = ::poll(p, 2, 500);
    if (stopping_.load() || p[1].revents) return;
    reap(false);
    if (rc <= 0 || !(p[0].revents & POLLIN)) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    UniqueFd fd(::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                          SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    auto session = std::make_unique<Session>();
    session->sock.reset(::dup(fd.get()));
    // Sessions past the cap still get a short-lived thread: it reads the
    // request and answers 503, so the client learns why.
    bool over = active_.fetch_add(1) >= opts_.max_sessions;
    Session* raw = session.get();
    std::string who = format_addr(peer);
    raw->thread = std::thread([this, raw, fd = std::move(fd), who, over]() mutable {
      serve(*raw, std::move(fd), who, over);
      active_.fetch_sub(1);
      raw->done.store(true);
    });
    std::lock_guard lock(sessions_mu_);
    sessions_.push_back(std::move(session));
  }
}

void StreamServer::serve(Session&, UniqueFd fd, std::string peer, bool over_limit) {
  auto conn = std::make_unique<SocketStream>(std::move(fd), peer, tls_);
  int head_ms = static_cast<int>(opts_.head_timeout.count());
  if (Status hs = conn->handshake(head_ms); !hs) {
    spdlog::debug("[stream {}] {}", peer, hs.error().message());
    return;
  }
  auto head = conn->read_head(kMaxHead, head_ms);
  if (!head) {
    if (head.error().kind() == ErrorKind::kResourceExhausted)
      answer(*conn, 431, "Request Header Fields Too Large", head.error().message());
    return;
  }
  auto req = parse_http_request_head(*head);
  if (!req) return answer(*conn, 400, "Bad Request", req.error().message());
  if (over_limit) {
    spdlog::warn("[stream {}] refusing {}: {} sessions already open", peer, req->path,
                 opts_.max_sessions);
    return answer(*conn, 503, "Service Unavailable", "too many streaming sessions");
  }
  // /<kind>/<token>: the token alone decides; it must also be for this kind.
  std::string_view path = req->path;
  size_t slash = path.find('/', 1);
  std::string kind(path.substr(1, slash == std::string_view::npos ? 0 : slash - 1));
  std::string token(slash == std::string_view::npos ? "" : path.substr(slash + 1));
  std::optional<StreamRequest> what;
  if (!token.empty() && token.find('/') == std::string::npos) what = tokens_.consume(token);
  if (!what || kind != kind_of(*what)) {
    spdlog::info("[stream {}] {} {}: unknown, used or expired token", peer, req->method,
                 req->path);
    return answer(*conn, 404, "Not Found", "404 page not found");
  }
  std::string upgrade = req->header("Upgrade").value_or("");
  std::transform(upgrade.begin(), upgrade.end(), upgrade.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  spdlog::info("[stream {}] {} session ({})", peer, kind, upgrade.empty() ? "no upgrade" : upgrade);
  if (upgrade.find("spdy/3.1") != std::string::npos) {
    SpdyLimits limits;
    limits.session.idle_timeout = opts_.idle_timeout;
    limits.stream_creation = opts_.stream_creation_timeout;
    serve_spdy(std::move(conn), *req, *what, backend_, limits);
  } else if (upgrade.find("websocket") != std::string::npos) {
    SessionLimits limits;
    limits.idle_timeout = opts_.idle_timeout;
    serve_websocket(std::move(conn), *req, *what, backend_, limits);
  } else {
    answer(*conn, 400, "Bad Request",
           "a streaming request must upgrade to SPDY/3.1 or websocket");
  }
}

}  // namespace crid::stream
