// Test fixtures for the WebSocket session: a ByteStream over a plain socket,
// a minimal masked-frame client, and a fake StreamBackend whose "commands"
// exercise the pipes the session hands it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stream/byte_stream.h"
#include "stream/http_request.h"
#include "stream/stream_backend.h"
#include "stream/websocket_channels.h"
#include "stream/websocket_frame.h"
#include "util/unique_fd.h"

namespace crid::stream::testing {

// A ByteStream over a connected socket (socketpair or TCP).
class SocketByteStream : public ByteStream {
 public:
  explicit SocketByteStream(UniqueFd fd, std::string peer = "test-peer")
      : fd_(std::move(fd)), peer_(std::move(peer)) {}
  Result<size_t> read(void* buf, size_t len) override {
    ssize_t n;
    do {
      n = ::recv(fd_.get(), buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return sys_error("recv");
    return static_cast<size_t>(n);
  }
  Status write_all(const void* data, size_t len) override {
    std::lock_guard lock(mu_);
    const char* p = static_cast<const char*>(data);
    while (len > 0) {
      ssize_t n = ::send(fd_.get(), p, len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error("send");
      }
      p += n;
      len -= static_cast<size_t>(n);
    }
    return Ok();
  }
  void shutdown() override { ::shutdown(fd_.get(), SHUT_RDWR); }
  int fd() const override { return fd_.get(); }
  size_t pending() const override { return 0; }
  std::string peer() const override { return peer_; }

 private:
  UniqueFd fd_;
  std::string peer_;
  std::mutex mu_;
};

inline std::pair<UniqueFd, UniqueFd> socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The request head a client upgrading to WebSocket sends.
inline HttpRequest upgrade_request(const std::string& protocols,
                                   std::vector<std::pair<std::string, std::string>> query = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/exec/token";
  r.target = r.path;
  r.query = std::move(query);
  r.headers = {{"Host", "127.0.0.1"},
               {"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"Sec-WebSocket-Version", "13"}};
  if (!protocols.empty()) r.headers.emplace_back("Sec-WebSocket-Protocol", protocols);
  return r;
}

// The client end: masks what it sends, parses what the server sends.
class WsClient {
 public:
  explicit WsClient(UniqueFd fd) : fd_(std::move(fd)) {}

  // Reads the HTTP response head (up to the blank line).
  std::string read_response_head() {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (!wait_readable() || ::recv(fd_.get(), &c, 1, 0) != 1) break;
      head.push_back(c);
    }
    return head;
  }
  // Everything until the server closes the stream.
  std::string read_to_end() {
    std::string all;
    char buf[4096];
    while (wait_readable()) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n <= 0) break;
      all.append(buf, static_cast<size_t>(n));
    }
    return all;
  }

  void send_raw(std::string_view bytes) {
    ASSERT_EQ(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // For the close reply: the server may already have shut the stream.
  void send_best_effort(ws::Opcode op, std::string_view payload) {
    std::string frame = ws::encode_frame(op, payload, true, std::array<uint8_t, 4>{9, 8, 7, 6});
    (void)::send(fd_.get(), frame.data(), frame.size(), MSG_NOSIGNAL);
  }
  void send(ws::Opcode op, std::string_view payload, bool fin = true) {
    send_raw(ws::encode_frame(op, payload, fin, std::array<uint8_t, 4>{0x11, 0x22, 0x33, 0x44}));
  }
  void send_channel(ws::ChannelCodec codec, uint8_t channel, std::string_view data) {
    ws::Message m = ws::encode_channel_message(codec, channel, data);
    send(m.opcode, m.payload);
  }

  // The next message from the server (pings included); nullopt when the
  // stream ended or nothing came within the timeout.
  std::optional<ws::Message> next() {
    ws::FrameLimits limits{ws::Masking::kForbidden, 16 << 20};
    while (true) {
      auto parsed = ws::parse_frame(buf_, limits);
      if (!parsed) {
        ADD_FAILURE() << "server frame: " << parsed.error().message();
        return std::nullopt;
      }
      if (*parsed) {
        buf_.erase(0, (*parsed)->size);
        auto msg = assembler_.add(std::move((*parsed)->frame));
        if (!msg) {
          ADD_FAILURE() << "server message: " << msg.error().message();
          return std::nullopt;
        }
        if (*msg) return std::move(**msg);
        continue;
      }
      char tmp[65536];
      if (!wait_readable()) return std::nullopt;
      ssize_t n = ::recv(fd_.get(), tmp, sizeof(tmp), 0);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  struct Collected {
    std::string stdout_data, stderr_data, error_data;
    std::vector<std::string> stdout_messages;
    std::optional<uint16_t> close_code;
    std::string close_reason;
  };
  // Reads channel messages until the server's close frame (answered) or
  // the end of the stream.
  Collected collect(ws::ChannelCodec codec) {
    Collected c;
    while (auto m = next()) {
      if (m->opcode == ws::Opcode::kClose) {
        auto info = ws::parse_close_payload(m->payload);
        if (info) {
          c.close_code = info->code;
          c.close_reason = info->reason;
        }
        send_best_effort(ws::Opcode::kClose, m->payload);
        break;
      }
      if (ws::is_control(m->opcode)) continue;
      auto cm = ws::decode_channel_message(codec, *m);
      if (!cm || !*cm) continue;
      switch ((*cm)->channel) {
        case 1:
          c.stdout_data += (*cm)->data;
          c.stdout_messages.push_back((*cm)->data);
          break;
        case 2: c.stderr_data += (*cm)->data; break;
        case 3: c.error_data += (*cm)->data; break;
      }
    }
    return c;
  }

  void close_socket() { fd_.reset(); }
  int fd() const { return fd_.get(); }

 private:
  bool wait_readable() {
    pollfd p{fd_.get(), POLLIN, 0};
    return ::poll(&p, 1, 20000) == 1;
  }
  UniqueFd fd_;
  std::string buf_;
  ws::MessageAssembler assembler_{16 << 20};
};

inline bool write_all_fd(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// "Commands" (cmd[0]) the fake exec understands:
//   cat              stdin to stdout until stdin's EOF, exit 0
//   exit N [OUT ERR] writes OUT to stdout and ERR to stderr, exits N
//   resize           writes "WxH\n" to stdout per resize record until stdin EOF
//   wait-cancel      waits for io.cancel, exits 137
//   fail             the backend fails (an error, not an exit code)
//   linger TEXT      writes TEXT, leaves a copy of stdout open (a daemonised
//                    grandchild), exits 0
class FakeBackend : public StreamBackend {
 public:
  Result<int> exec(const ExecRequest& req, StdioFds io) override {
    {
      std::lock_guard lock(mu_);
      last_exec_ = req;
      got_in_ = io.in.valid();
      got_out_ = io.out.valid();
      got_err_ = io.err.valid();
      got_resize_ = io.resize.valid();
    }
    const std::string& cmd = req.cmd.empty() ? std::string() : req.cmd[0];
    if (cmd == "cat") {
      pump(io.in.get(), io.out.get(), io.cancel.get());
      cancelled_ = fired(io.cancel.get());
      return 0;
    }
    if (cmd == "exit") {
      if (req.cmd.size() > 2 && io.out.valid()) write_all_fd(io.out.get(), req.cmd[2]);
      if (req.cmd.size() > 3 && io.err.valid()) write_all_fd(io.err.get(), req.cmd[3]);
      return std::stoi(req.cmd.at(1));
    }
    if (cmd == "resize") {
      resize_loop(io);
      return 0;
    }
    if (cmd == "wait-cancel") {
      pollfd p{io.cancel.get(), POLLIN, 0};
      ::poll(&p, 1, 30000);
      cancelled_ = (p.revents != 0);
      return 137;
    }
    if (cmd == "fail") return make_error(ErrorKind::kNotFound, "runtime exec: no such process");
    if (cmd == "linger") {
      write_all_fd(io.out.get(), req.cmd.at(1));
      lingering_.reset(::dup(io.out.get()));
      return 0;
    }
    return make_error(ErrorKind::kInvalidArgument, "fake backend: unknown command");
  }

  Status attach(const AttachRequest& req, StdioFds io) override {
    {
      std::lock_guard lock(mu_);
      last_attach_ = req;
    }
    write_all_fd(io.out.get(), "attached\n");
    pump(io.in.get(), io.out.get(), io.cancel.get());
    cancelled_ = fired(io.cancel.get());
    return Ok();
  }

  Result<UniqueFd> connect_port(const std::string& pod_id, uint16_t port) override {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return sys_error("connecting to port {} in pod {}", port, pod_id);
    }
    return s;
  }

  std::optional<ExecRequest> last_exec() {
    std::lock_guard lock(mu_);
    return last_exec_;
  }
  std::optional<AttachRequest> last_attach() {
    std::lock_guard lock(mu_);
    return last_attach_;
  }
  bool got_in() { std::lock_guard lock(mu_); return got_in_; }
  bool got_out() { std::lock_guard lock(mu_); return got_out_; }
  bool got_err() { std::lock_guard lock(mu_); return got_err_; }
  bool got_resize() { std::lock_guard lock(mu_); return got_resize_; }
  bool cancelled() const { return cancelled_; }
  void drop_lingering() { lingering_.reset(); }

 private:
  // Whether io.cancel is readable now: the session asked the backend to stop
  // (the client went away) rather than stdin merely ending.
  static bool fired(int cancel) {
    pollfd p{cancel, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
  // Copies in to out until in's EOF (true) or cancel (false).
  static bool pump(int in, int out, int cancel) {
    char buf[4096];
    if (in < 0) {
      pollfd p{cancel, POLLIN, 0};
      ::poll(&p, 1, 30000);
      return false;
    }
    while (true) {
      pollfd p[2] = {{in, POLLIN, 0}, {cancel, POLLIN, 0}};
      if (::poll(p, 2, 30000) <= 0) return false;
      if (p[0].revents) {
        ssize_t n = ::read(in, buf, sizeof(buf));
        if (n <= 0) return true;
        if (out >= 0 && !write_all_fd(out, std::string_view(buf, static_cast<size_t>(n)))) {
          return false;
        }
        continue;
      }
      if (p[1].revents) return false;
    }
  }
  static void resize_loop(StdioFds& io) {
    while (true) {
      pollfd p[2] = {{io.resize.get(), POLLIN, 0}, {io.in.get(), POLLIN, 0}};
      if (::poll(p, 2, 30000) <= 0) return;
      if (p[0].revents & POLLIN) {
        TerminalSize size;
        if (::read(io.resize.get(), &size, sizeof(size)) != sizeof(size)) return;
        write_all_fd(io.out.get(), std::to_string(size.width) + "x" + std::to_string(size.height) + "\n");
        continue;
      }
      if (p[1].revents) {
        char buf[256];
        if (::read(io.in.get(), buf, sizeof(buf)) <= 0) return;
      }
      if (p[0].revents) return;
    }
  }

  std::mutex mu_;
  std::optional<ExecRequest> last_exec_;
  std::optional<AttachRequest> last_attach_;
  bool got_in_ = false, got_out_ = false, got_err_ = false, got_resize_ = false;
  std::atomic<bool> cancelled_{false};
  UniqueFd lingering_;
};

// A one-connection TCP server on 127.0.0.1 that answers "pong:" + what
// it read, then closes.
class PongServer {
 public:
  PongServer() {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_.get(), 4) != 0 ||
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::abort();
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      UniqueFd c(::accept(fd_.get(), nullptr, nullptr));
      if (!c.valid()) return;
      char buf[256];
      ssize_t n = ::recv(c.get(), buf, sizeof(buf), 0);
      if (n <= 0) return;
      std::string reply = "pong:" + std::string(buf, static_cast<size_t>(n));
      (void)::send(c.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    });
  }
  ~PongServer() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace crid::stream::testing
