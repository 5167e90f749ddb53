// A StreamBackend for unit tests: "commands" that exercise each part of
// the protocol layer through the same file descriptors a container would.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "stream/stream_backend.h"

namespace crid::stream {

class FakeStreamBackend : public StreamBackend {
 public:
  std::atomic<int> cancelled{0};
  std::atomic<int> execs{0};
  std::atomic<int> attaches{0};

  // cmd[0]: "echo" copies stdin to stdout; "exit N" writes "out"/"err" then
  // exits N; "sizes" reports each resize on stdout until stdin closes;
  // "wait" blocks until cancelled; "fail" is a backend error.
  Result<int> exec(const ExecRequest& req, StdioFds io) override {
    ++execs;
    const std::string& what = req.cmd.at(0);
    if (what == "fail") return make_error(ErrorKind::kNotFound, "no such binary {}", req.cmd.at(1));
    if (what == "echo") {
      copy(io.in.get(), io.out.get());
      return 0;
    }
    if (what == "exit") {
      write_str(io.out.get(), "out");
      if (io.err.valid()) write_str(io.err.get(), "err");
      return std::stoi(req.cmd.at(1));
    }
    if (what == "sizes") {
      for (;;) {
        pollfd p[2] = {{io.resize.get(), POLLIN, 0}, {io.in.get(), POLLIN, 0}};
        ::poll(p, 2, -1);
        if (p[0].revents & POLLIN) {
          TerminalSize sz;
          if (::read(io.resize.get(), &sz, sizeof(sz)) != sizeof(sz)) break;
          write_str(io.out.get(), std::to_string(sz.width) + "x" + std::to_string(sz.height) + "\n");
          continue;
        }
        char c;
        if (::read(io.in.get(), &c, 1) <= 0) break;
      }
      return 0;
    }
    if (what == "wait") {
      pollfd p{io.cancel.get(), POLLIN, 0};
      ::poll(&p, 1, 60000);
      if (p.revents & POLLIN) ++cancelled;
      return 137;
    }
    return make_error(ErrorKind::kInvalidArgument, "fake backend: unknown command {}", what);
  }

  Status attach(const AttachRequest&, StdioFds io) override {
    ++attaches;
    write_str(io.out.get(), "attached\n");
    copy(io.in.get(), io.out.get());
    return Ok();
  }

  Result<UniqueFd> connect_port(const std::string& pod_id, uint16_t port) override {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      return sys_error("connecting to port {} in pod {}", port, pod_id);
    return fd;
  }

 private:
  static void write_str(int fd, const std::string& s) { (void)!::write(fd, s.data(), s.size()); }
  static void copy(int in, int out) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(in, buf, sizeof(buf))) > 0) (void)!::write(out, buf, static_cast<size_t>(n));
  }
};

}  // namespace crid::stream
