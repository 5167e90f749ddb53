#include "stream/container_stream_backend.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "stream/fd_pump.h"
#include "util/log.h"

namespace crid::stream {

using namespace std::chrono_literals;

namespace {

// After a cancel, how long the runtime gets to exit once its process was
// killed; past it the ExecProcess destructor kills the runtime itself.
constexpr auto kCancelGrace = 10s;
// While a kill is pending (the runtime has not written the exec'd pid
// yet), how often to retry it.
constexpr int kKillRetryMs = 50;
// How long a tty exec waits for the client's first terminal size.
constexpr auto kFirstSizeWait = 300ms;

// Waits for the exec'd process to exit, killing it if `cancel` fires.
Result<int> wait_exec(runtime::ExecProcess& proc, int cancel, const std::string& id) {
  bool cancelled = false, killed = false;
  std::chrono::steady_clock::time_point cancelled_at;
  for (;;) {
    pollfd p[2] = {{proc.exit_fd(), POLLIN, 0}, {cancelled ? -1 : cancel, POLLIN, 0}};
    int r = ::poll(p, 2, cancelled && !killed ? kKillRetryMs : 1000);
    if (r < 0 && errno != EINTR) return sys_error("waiting for the exec in container {}", id);
    if (p[0].revents) break;
    if (p[1].revents) {
      spdlog::info("[Exec ctr={}] client went away, killing the process", log::short_id(id));
      cancelled = true;
      cancelled_at = std::chrono::steady_clock::now();
    }
    if (cancelled && !killed) killed = proc.kill();
    if (cancelled && std::chrono::steady_clock::now() - cancelled_at > kCancelGrace)
      return make_error(ErrorKind::kCancelled,
                        "exec in container {}: the runtime did not exit after its process was "
                        "killed",
                        id);
  }
  return proc.wait();
}

// Moves what `fd` (non-blocking) has now to `out`; false once it ended
// (EOF, or EIO from a pty whose other side is closed).
bool copy_available(int fd, Outlet& out) {
  char buf[32768];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.push(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

// With a terminal: pumps client stdin -> pty master -> client stdout and
// applies resizes until the runtime exits, then drains the terminal.
Result<int> run_tty_exec(runtime::ExecProcess& proc, StdioFds& io, const std::string& id) {
  // No terminal if the runtime failed before handing one over: its exit
  // code and stderr then tell the client why.
  const int master = proc.terminal();
  const int diag = proc.runtime_stderr();
  for (int fd : {master, diag, io.in.get(), io.out.get(), io.resize.get()})
    if (fd >= 0) CRID_TRY_CTX(set_nonblocking(fd), "exec in container {}", id);
  Outlet to_client(io.out.get());
  Outlet to_term(master);
  bool in_open = io.in.valid(), resize_open = io.resize.valid();
  bool master_open = master >= 0, diag_open = diag >= 0;
  bool cancelled = false, killed = false;
  std::chrono::steady_clock::time_point cancelled_at;
  char buf[32768];

  for (;;) {
    pollfd p[7] = {
        {proc.exit_fd(), POLLIN, 0},
        {cancelled ? -1 : io.cancel.get(), POLLIN, 0},
        {resize_open ? io.resize.get() : -1, POLLIN, 0},
        {in_open && !to_term.full() ? io.in.get() : -1, POLLIN, 0},
        {master_open ? master : -1,
         static_cast<short>((to_client.full() ? 0 : POLLIN) | (to_term.pending() ? POLLOUT : 0)),
         0},
        {to_client.pending() ? io.out.get() : -1, POLLOUT, 0},
        {diag_open && !to_client.full() ? diag : -1, POLLIN, 0},
    };
    int r = ::poll(p, 7, cancelled && !killed ? kKillRetryMs : 1000);
    if (r < 0 && errno != EINTR) return sys_error("exec in container {}: poll", id);
    if (r <= 0 && !cancelled) continue;
    if (p[0].revents) break;
    if (p[1].revents) {
      spdlog::info("[Exec ctr={}] client went away, killing the process", log::short_id(id));
      cancelled = true;
      cancelled_at = std::chrono::steady_clock::now();
    }
    if (cancelled && !killed) killed = proc.kill();
    if (cancelled && std::chrono::steady_clock::now() - cancelled_at > kCancelGrace)
      return make_error(ErrorKind::kCancelled,
                        "exec in container {}: the runtime did not exit after its process was "
                        "killed",
                        id);
    if (p[2].revents) {
      TerminalSize size;
      bool got = false;
      resize_open = read_resizes(io.resize.get(), &size, &got);
      if (got) {
        auto s = proc.resize(size.width, size.height);
        if (!s) spdlog::warn("[Exec ctr={}] {}", log::short_id(id), s.error().message());
      }
    }
    if (p[3].revents) {
      ssize_t n = ::read(io.in.get(), buf, sizeof buf);
      if (n > 0) {
        to_term.push(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = false;  // the terminal stays: the program decides when to end
      }
    }
    if (p[4].revents & POLLOUT) to_term.flush();
    if (p[4].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) {
        to_client.push(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        master_open = false;  // EIO: everything on the other side closed it
      }
    }
    if (p[5].revents) to_client.flush();
    if (p[6].revents) diag_open = copy_available(diag, to_client);
  }
  // The runtime is gone: what it wrote last is still in the pty (EIO once
  // empty and closed on the other side; EAGAIN if a leftover process of the
  // exec still holds it) and in its stderr pipe.
  if (master_open) copy_available(master, to_client);
  if (diag_open) copy_available(diag, to_client);
  to_client.drain(io.cancel.get());
  return proc.wait();
}

}  // namespace

ContainerStreamBackend::ContainerStreamBackend(container::ContainerManager& containers,
                                               sandbox::SandboxManager& pods,
                                               runtime::OciRuntime& runtime)
    : containers_(containers), pods_(pods), runtime_(runtime) {
  // A client that left makes writes to its pipes fail with EPIPE; that
  // must not kill the daemon.
  ::signal(SIGPIPE, SIG_IGN);
}

Result<container::ContainerRecord> ContainerStreamBackend::running_container(
    const std::string& id, const char* what) {
  CRID_ASSIGN(auto rec, containers_.status(id));
  if (rec.state != container::ContainerState::kRunning)
    return make_error(ErrorKind::kFailedPrecondition, "{} container {} ({}): it is {}", what,
                      rec.id, rec.name, container::to_string(rec.state));
  return rec;
}

Result<int> ContainerStreamBackend::exec(const ExecRequest& req, StdioFds io) {
  if (req.cmd.empty())
    return make_error(ErrorKind::kInvalidArgument, "exec in container {}: empty command",
                      req.container_id);
  CRID_ASSIGN(auto rec, running_container(req.container_id, "exec in"));
  runtime::ExecOptions opts;
  opts.argv = req.cmd;
  opts.tty = req.tty;
  if (req.tty) {
    // A size sent before the start becomes the terminal's first size.
    // kubectl and crictl send it only once their streams are up, just after
    // the session starts: wait briefly for it, or a program asking for its
    // size at once (stty, a shell's line editor) would see 0x0.
    if (io.resize.valid()) {
      pollfd first{io.resize.get(), POLLIN, 0};
      ::poll(&first, 1, static_cast<int>(kFirstSizeWait.count()));
      CRID_TRY_CTX(set_nonblocking(io.resize.get()), "exec in container {}", rec.id);
      TerminalSize size;
      bool got = false;
      if (!read_resizes(io.resize.get(), &size, &got)) io.resize.reset();
      if (got) {
        opts.width = size.width;
        opts.height = size.height;
      }
    }
  } else {
    opts.stdin_fd = io.in.get();
    opts.stdout_fd = io.out.get();
    opts.stderr_fd = io.err.get();
  }
  spdlog::info("[Exec ctr={}] {}{}", log::short_id(rec.id), fmt::join(req.cmd, " "),
               req.tty ? " (tty)" : "");
  CRID_ASSIGN(auto proc, runtime_.exec(rec.id, opts));
  Result<int> code = 0;
  if (req.tty) {
    code = run_tty_exec(*proc, io, rec.id);
  } else {
    // The process holds its own copies: ours go now, so the client sees
    // EOF as soon as the process (and whatever inherited them) closes them.
    io.in.reset();
    io.out.reset();
    io.err.reset();
    code = wait_exec(*proc, io.cancel.get(), rec.id);
  }
  if (code)
    spdlog::info("[Exec ctr={}] {} exited with {}", log::short_id(rec.id), req.cmd.front(), *code);
  return code;
}

}  // namespace crid::stream
