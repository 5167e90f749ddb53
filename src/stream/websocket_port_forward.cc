#include "stream/websocket_port_forward.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/log.h"

namespace crid::stream::ws {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 32 * 1024;
constexpr size_t kMaxPendingToPod = 1 << 20;
constexpr std::chrono::milliseconds kCloseWait{1000};

struct Forward {
  uint16_t port = 0;
  UniqueFd sock;
  std::string to_pod;  // client bytes the pod has not taken yet
};

class PortForwardSession {
 public:
  PortForwardSession(const PortForwardContext& ctx, const std::string& pod_id)
      : ctx_(ctx), pod_id_(pod_id) {}
  void run(const std::vector<uint16_t>& ports);

 private:
  void loop();
  void on_message(const Message& m);
  void on_readable(size_t i);
  void flush(size_t i);
  void fail_port(size_t i, std::string_view what);
  void send_channel(uint8_t channel, std::string_view data);
  void client_gone(std::string_view why);
  size_t pending_total() const;

  const PortForwardContext& ctx_;
  const std::string& pod_id_;
  std::vector<Forward> forwards_;
  bool gone_ = false;
  Clock::time_point last_activity_ = Clock::now();
};

uint8_t data_channel(size_t i) { return static_cast<uint8_t>(2 * i); }
uint8_t error_channel(size_t i) { return static_cast<uint8_t>(2 * i + 1); }

void PortForwardSession::run(const std::vector<uint16_t>& ports) {
  forwards_.resize(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) {
    forwards_[i].port = ports[i];
    const char prefix[2] = {static_cast<char>(ports[i] & 0xFF), static_cast<char>(ports[i] >> 8)};
    send_channel(data_channel(i), std::string_view(prefix, 2));
    send_channel(error_channel(i), std::string_view(prefix, 2));
  }
  for (size_t i = 0; i < ports.size() && !gone_; ++i) {
    auto sock = ctx_.backend.connect_port(pod_id_, ports[i]);
    if (!sock) {
      fail_port(i, sock.error().message());
      continue;
    }
    int flags = ::fcntl(sock->get(), F_GETFL);
    if (flags < 0 || ::fcntl(sock->get(), F_SETFL, flags | O_NONBLOCK) != 0) {
      fail_port(i, fmt::format("making the connection non-blocking: {}", std::strerror(errno)));
      continue;
    }
    forwards_[i].sock = std::move(sock).value();
  }
  loop();
  forwards_.clear();  // closes what is left
  if (gone_) return;
  spdlog::info("[{}] every forwarded connection ended", ctx_.tag);
  (void)ctx_.conn.close(close_code::kNormal, "");
  ctx_.conn.await_close(kCloseWait);
}

size_t PortForwardSession::pending_total() const {
  size_t total = 0;
  for (const Forward& f : forwards_) total += f.to_pod.size();
  return total;
}

void PortForwardSession::loop() {
  while (!gone_) {
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t i = 0; i < forwards_.size(); ++i) {
      if (!forwards_[i].sock.valid()) continue;
      short events = POLLIN;
      if (!forwards_[i].to_pod.empty()) events |= POLLOUT;
      fds.push_back({forwards_[i].sock.get(), events, 0});
      which.push_back(i);
    }
    if (fds.empty()) return;  // every connection ended
    bool read_client = pending_total() < kMaxPendingToPod;
    if (read_client) fds.push_back({ctx_.conn.fd(), POLLIN, 0});

    auto idle_left = std::chrono::duration_cast<std::chrono::milliseconds>(
        last_activity_ + ctx_.limits.idle_timeout - Clock::now());
    int timeout = static_cast<int>(std::clamp<long long>(idle_left.count(), 0, 60'000));
    if (read_client && ctx_.conn.has_pending()) timeout = 0;
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("[{}] poll: {}", ctx_.tag, std::strerror(errno));
      client_gone("internal error");
      return;
    }

    if (read_client && (fds.back().revents || ctx_.conn.has_pending())) {
      auto got = ctx_.conn.receive();
      if (!got) {
        spdlog::warn("[{}] {}", ctx_.tag, got.error().message());
        ctx_.conn.fail(got.error());
        client_gone("protocol error");
        return;
      }
      last_activity_ = Clock::now();
      for (const Message& m : got->messages) on_message(m);
      if (got->ended) client_gone("client closed the connection");
      if (gone_) return;
    }
    for (size_t k = 0; k < which.size(); ++k) {
      size_t i = which[k];
      if (!forwards_[i].sock.valid()) continue;
      if (fds[k].revents & POLLOUT) flush(i);
      if (forwards_[i].sock.valid() && (fds[k].revents & (POLLIN | POLLHUP | POLLERR))) {
        on_readable(i);
      }
    }
    if (!gone_ && Clock::now() - last_activity_ >= ctx_.limits.idle_timeout) {
      spdlog::info("[{}] idle for {} ms, closing", ctx_.tag, ctx_.limits.idle_timeout.count());
      (void)ctx_.conn.close(close_code::kPolicyViolation, "idle timeout");
      client_gone("idle timeout");
    }
  }
}

void PortForwardSession::on_message(const Message& m) {
  if (gone_) return;
  if (m.opcode == Opcode::kClose) {
    client_gone("client sent close");
    return;
  }
  auto decoded = decode_channel_message(ctx_.protocol.codec, m);
  if (!decoded) {
    spdlog::warn("[{}] {}", ctx_.tag, decoded.error().message());
    return;
  }
  if (!*decoded) return;
  size_t i = (*decoded)->channel / 2;
  // Only data channels carry bytes towards the pod; what the client sends
  // on an error channel, or for a port whose connection ended, is dropped.
  if ((*decoded)->channel % 2 != 0 || i >= forwards_.size() || !forwards_[i].sock.valid()) return;
  forwards_[i].to_pod.append((*decoded)->data);
  flush(i);
}

void PortForwardSession::flush(size_t i) {
  Forward& f = forwards_[i];
  while (!f.to_pod.empty()) {
    ssize_t n = ::send(f.sock.get(), f.to_pod.data(), f.to_pod.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      fail_port(i, fmt::format("writing to the connection: {}", std::strerror(errno)));
      return;
    }
    f.to_pod.erase(0, static_cast<size_t>(n));
  }
}

void PortForwardSession::on_readable(size_t i) {
  Forward& f = forwards_[i];
  char buf[kChunk];
  ssize_t n = ::recv(f.sock.get(), buf, sizeof(buf), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    fail_port(i, fmt::format("reading from the connection: {}", std::strerror(errno)));
    return;
  }
  if (n == 0) {
    // The server in the pod closed: this forward is over, as kubelet ends
    // a port's copy when the pod side ends.
    f.sock.reset();
    f.to_pod.clear();
    return;
  }
  last_activity_ = Clock::now();
  send_channel(data_channel(i), std::string_view(buf, static_cast<size_t>(n)));
}

void PortForwardSession::fail_port(size_t i, std::string_view what) {
  Forward& f = forwards_[i];
  std::string msg =
      fmt::format("error forwarding port {} to pod {}: {}", f.port, pod_id_, what);
  spdlog::warn("[{}] {}", ctx_.tag, msg);
  f.sock.reset();
  f.to_pod.clear();
  send_channel(error_channel(i), msg);
}

void PortForwardSession::send_channel(uint8_t channel, std::string_view data) {
  if (gone_) return;
  Status s = ctx_.conn.send(encode_channel_message(ctx_.protocol.codec, channel, data));
  if (!s) {
    spdlog::info("[{}] sending to the client: {}", ctx_.tag, s.error().message());
    client_gone("client unreachable");
  }
}

void PortForwardSession::client_gone(std::string_view why) {
  if (gone_) return;
  gone_ = true;
  spdlog::info("[{}] {}: closing the forwarded connections", ctx_.tag, why);
}

}  // namespace

void run_port_forward(const PortForwardContext& ctx, const std::string& pod_id,
                      const std::vector<uint16_t>& ports) {
  PortForwardSession session(ctx, pod_id);
  session.run(ports);
}

}  // namespace crid::stream::ws
