#include "stream/spdy_port_forward.h"
#include "util/printable.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

namespace crid::stream::spdy {

namespace {

std::optional<uint16_t> parse_port(const std::string& s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// Clients before request ids sent the error stream, then the data stream,
// with consecutive odd ids: pair them by the error stream's id.
std::string request_id_of(const Stream& s) {
  if (auto id = s.header("requestID"); id && !id->empty()) return *id;
  bool data = s.header("streamType").value_or("") == "data";
  return std::to_string(data ? s.id - 2 : s.id);
}

}  // namespace

PortForwardHandler::PortForwardHandler(Connection& conn, PortForwardRequest req,
                                       StreamBackend& backend)
    : conn_(conn), req_(std::move(req)), backend_(backend) {}

PortForwardHandler::~PortForwardHandler() { stop_all(); }

bool PortForwardHandler::accept(const Stream& s) {
  std::string type = s.header("streamType").value_or("");
  auto port = parse_port(s.header("port").value_or(""));
  std::string why;
  if (type != "data" && type != "error")
    why = fmt::format("unknown streamType {}", printable(type));
  else if (!port)
    why = fmt::format("bad port header {}", printable(s.header("port").value_or("")));
  else if (!req_.ports.empty() &&
           std::find(req_.ports.begin(), req_.ports.end(), *port) == req_.ports.end())
    why = fmt::format("port {} was not asked for in PortForward", *port);
  if (why.empty()) {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(request_id_of(s));
    if (it != waiting_.end() && ((type == "data" && it->second->data) ||
                                 (type == "error" && it->second->error)))
      why = "a second " + type + " stream for request " + it->first;
  }
  if (!why.empty()) {
    spdlog::warn("[PortForward pod={}] refusing SPDY stream {}: {}", req_.pod_id, s.id, why);
    return false;
  }
  return true;
}

void PortForwardHandler::opened(const StreamPtr& s) {
  std::lock_guard lock(mu_);
  reap_finished();
  if (closed_) return;
  std::string rid = request_id_of(*s);
  auto& p = waiting_[rid];
  if (!p) {
    p = std::make_shared<Pair>();
    p->request_id = rid;
  }
  bool data = s->header("streamType") == "data";
  (data ? p->data : p->error) = s;
  if (data) p->port = *parse_port(s->header("port").value_or(""));
  if (!p->data || !p->error) return;
  auto pair = std::move(p);
  waiting_.erase(rid);
  running_.push_back(pair);
  pair->thread = std::thread([this, pair] {
    forward(*pair);
    pair->done.store(true);
  });
}

void PortForwardHandler::reap_finished() {
  for (auto it = running_.begin(); it != running_.end();) {
    if ((*it)->done.load()) {
      (*it)->thread.join();
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
}

void PortForwardHandler::connection_closed() {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (auto& p : running_) p->stop.fire();
  conn_.wake();
}

void PortForwardHandler::stop_all() {
  std::list<std::shared_ptr<Pair>> pairs;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& p : running_) p->stop.fire();
    pairs.swap(running_);
    waiting_.clear();
  }
  conn_.wake();
  for (auto& p : pairs)
    if (p->thread.joinable()) p->thread.join();
}

void PortForwardHandler::forward(Pair& p) {
  auto sock = backend_.connect_port(req_.pod_id, p.port);
  if (!sock) {
    std::string msg = fmt::format("error forwarding port {} to pod {}: {}", p.port, req_.pod_id,
                                  sock.error().message());
    spdlog::info("[PortForward pod={}] {}", req_.pod_id, msg);
    conn_.abandon(*p.data);
    (void)conn_.close_stream(*p.data);
    (void)conn_.write(*p.error, msg);
    (void)conn_.close_stream(*p.error);
    return;
  }
  int fd = sock->get();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // Client to pod on a helper thread; a FIN from the client half-closes the
  // socket so the server in the pod sees EOF and can answer.
  std::thread upstream([&] {
    Status st = pump_stream_to_fd(conn_, *p.data, fd, p.stop);
    if (st) ::shutdown(fd, SHUT_WR);
  });
  Status down = pump_fd_to_stream(conn_, *p.data, fd, p.stop);
  if (!down && down.error().kind() != ErrorKind::kCancelled)
    spdlog::debug("[PortForward pod={} port={}] {}", req_.pod_id, p.port, down.error().message());
  (void)conn_.close_stream(*p.data);
  (void)conn_.close_stream(*p.error);
  // The pod side is done: nothing the client still sends can be delivered.
  p.stop.fire();
  conn_.wake();
  upstream.join();
  conn_.abandon(*p.data);
}

}  // namespace crid::stream::spdy
