// Attach: the client joins the container's own stdio through conmon's
// attach socket (SOCK_SEQPACKET, in the bundle next to the ctl fifo).
// conmon's side of it, as its source and CRI-O's client show:
// - each packet it sends is one chunk of the container's output (at most
//   8192 bytes) behind one byte naming the pipe: 2 stdout, 3 stderr (its
//   enum counts 1 for stdin, unused here);
// - each packet we send goes to the container's stdin as is (it reads up
//   to 32 KiB a packet, so we send smaller ones);
// - shutting down our write side ends our stdin; conmon then closes the
//   container's stdin unless it was started with --leave-stdin-open (CRI
//   stdin_once false);
// - it closes every attach connection when the container exits.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/conmon_runtime.h"
#include "stream/container_stream_backend.h"
#include "stream/fd_pump.h"
#include "util/log.h"

namespace crid::stream {

namespace {

// conmon writes at most this much container output per packet (+1 byte).
constexpr size_t kAttachPacketMax = 8192 + 1;
// What we send per packet toward the container's stdin.
constexpr size_t kStdinChunk = 8192;

// Connects to conmon's attach socket. The path may exceed sun_path (108
// bytes), so go through the directory's /proc/self/fd entry, as conmon
// does when binding it.
Result<UniqueFd> connect_attach_socket(const std::string& path, const std::string& id) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) return sys_error("attaching to container {}: opening {}", id, dir);
  std::string short_path = fmt::format("/proc/self/fd/{}/{}", dfd.get(), base);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (short_path.size() >= sizeof addr.sun_path)
    return make_error(ErrorKind::kInternal, "attaching to container {}: socket name {} too long",
                      id, base);
  std::memcpy(addr.sun_path, short_path.c_str(), short_path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return sys_error("attaching to container {}: socket", id);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error("attaching to container {}: connecting to {}", id, path);
  return sock;
}

}  // namespace

Status ContainerStreamBackend::attach(const AttachRequest& req, StdioFds io) {
  CRID_ASSIGN(auto rec, running_container(req.container_id, "attaching to"));
  const std::string& id = rec.id;
  CRID_ASSIGN(std::string path, runtime_.attach_socket_path(id));
  CRID_ASSIGN(UniqueFd sock, connect_attach_socket(path, id));
  spdlog::info("[Attach ctr={}] attached{}{}", log::short_id(id), req.tty ? " (tty)" : "",
               io.in.valid() && rec.stdin ? " with stdin" : "");

  // Stdin reaches a container only if it was created with one.
  if (!rec.stdin) io.in.reset();
  for (int fd : {sock.get(), io.in.get(), io.out.get(), io.err.get(), io.resize.get()})
    if (fd >= 0) CRID_TRY_CTX(set_nonblocking(fd), "attaching to container {}", id);
  Outlet out(io.out.get()), err(io.err.get());
  std::string to_ctr;  // stdin bytes not yet taken by the socket
  bool in_open = io.in.valid(), resize_open = io.resize.valid();
  char buf[32768];

  for (;;) {
    bool backlog = out.full() || err.full();
    pollfd p[6] = {
        {io.cancel.get(), POLLIN, 0},
        {sock.get(), static_cast<short>((backlog ? 0 : POLLIN) | (to_ctr.empty() ? 0 : POLLOUT)),
         0},
        {in_open && to_ctr.empty() ? io.in.get() : -1, POLLIN, 0},
        {resize_open ? io.resize.get() : -1, POLLIN, 0},
        {out.pending() ? out.fd() : -1, POLLOUT, 0},
        {err.pending() ? err.fd() : -1, POLLOUT, 0},
    };
    int r = ::poll(p, 6, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_error("attaching to container {}: poll", id);
    if (p[0].revents) {
      spdlog::info("[Attach ctr={}] client went away, detaching", log::short_id(id));
      return Ok();
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char pkt[kAttachPacketMax + 64];
      ssize_t n = ::recv(sock.get(), pkt, sizeof pkt, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        // The container exited (conmon closes its attach connections).
        out.drain(io.cancel.get());
        err.drain(io.cancel.get());
        spdlog::info("[Attach ctr={}] container output ended", log::short_id(id));
        return Ok();
      }
      if (n > 1) {
        if (pkt[0] == runtime::kAttachStdout)
          out.push(pkt + 1, static_cast<size_t>(n - 1));
        else if (pkt[0] == runtime::kAttachStderr)
          err.push(pkt + 1, static_cast<size_t>(n - 1));
      }
    }
    if (p[1].revents & POLLOUT) {
      size_t len = std::min(to_ctr.size(), kStdinChunk);
      ssize_t n = ::send(sock.get(), to_ctr.data(), len, MSG_NOSIGNAL);
      if (n > 0) to_ctr.erase(0, static_cast<size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) to_ctr.clear();
    }
    if (p[2].revents) {
      ssize_t n = ::read(io.in.get(), buf, kStdinChunk);
      if (n > 0) {
        to_ctr.assign(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = false;
        // Our stdin ended: conmon closes the container's stdin if it is
        // stdin_once. A container that keeps stdin open (and has no
        // terminal) has nothing more for this session: end it, as CRI-O
        // does; otherwise keep relaying output until the container exits.
        ::shutdown(sock.get(), SHUT_WR);
        if (!rec.stdin_once && !rec.tty) {
          out.drain(io.cancel.get());
          err.drain(io.cancel.get());
          spdlog::info("[Attach ctr={}] stdin ended, detaching", log::short_id(id));
          return Ok();
        }
      }
    }
    if (p[3].revents) {
      TerminalSize size;
      bool got = false;
      resize_open = read_resizes(io.resize.get(), &size, &got);
      if (got && rec.tty) {
        auto s = runtime_.resize(id, size.width, size.height);
        if (!s) spdlog::warn("[Attach ctr={}] {}", log::short_id(id), s.error().message());
      }
    }
    if (p[4].revents) out.flush();
    if (p[5].revents) err.flush();
  }
}

}  // namespace crid::stream
