#include "runtime/exec_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "runtime/process_probe.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/spawn_attributes.h"

extern char** environ;

namespace crid::runtime {

using namespace std::chrono_literals;

namespace {

// How long the runtime gets to hand the terminal over a console socket.
constexpr auto kConsoleWait = 60s;
// How long a killed exec'd process gets before the runtime itself is
// SIGKILLed (runc reaps its child and exits right after).
constexpr auto kKillGrace = 10s;

Result<pid_t> read_exec_pid(const std::string& path) {
  CRID_ASSIGN(std::string text, fs::read_file(path, 64));
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (v <= 0 || end == text.c_str())
    return make_error(ErrorKind::kInternal, "pid file {} holds \"{}\"", path, text.substr(0, 32));
  return static_cast<pid_t>(v);
}

// A duplicate above the standard fds, so the child's dup2 actions onto
// 0, 1 and 2 cannot overwrite one another's sources.
Result<UniqueFd> dup_high(int fd) {
  int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (high < 0) return sys_error("duplicating fd {}", fd);
  return UniqueFd(high);
}

// Listens on `path` (any length: bound through the directory's
// /proc/self/fd entry).
Result<UniqueFd> listen_console_socket(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) return sys_error("opening {}", dir);
  std::string name = fmt::format("/proc/self/fd/{}/{}", dfd.get(), path.substr(slash + 1));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() >= sizeof addr.sun_path)
    return make_error(ErrorKind::kInternal, "console socket name {} is too long", path);
  std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return sys_error("creating console socket {}", path);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(s.get(), 1) != 0)
    return sys_error("listening on console socket {}", path);
  return s;
}

// Waits for the runtime to connect and send the terminal's master (one fd
// in SCM_RIGHTS). Invalid if the runtime exited first (its stderr says why).
Result<UniqueFd> receive_console(int listener, int pidfd, const std::string& id) {
  pollfd p[2] = {{listener, POLLIN, 0}, {pidfd, POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + kConsoleWait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return make_error(ErrorKind::kDeadlineExceeded,
                        "exec in container {}: the runtime did not hand over a terminal", id);
    int r = ::poll(p, 2, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_error("exec in container {}: waiting for the terminal", id);
    if (p[0].revents) break;
    if (p[1].revents) return UniqueFd();
  }
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return sys_error("exec in container {}: accepting the console socket", id);
  char data[256];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < 0) return sys_error("exec in container {}: reading the console socket", id);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int)))
    return make_error(ErrorKind::kInternal,
                      "exec in container {}: the runtime sent no terminal on the console socket",
                      id);
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

Status set_size(int fd, uint16_t width, uint16_t height, const std::string& what) {
  winsize ws{};
  ws.ws_col = width;
  ws.ws_row = height;
  if (::ioctl(fd, TIOCSWINSZ, &ws) != 0) return sys_error("setting the size of {}", what);
  return Ok();
}

}  // namespace

ExecProcess::ExecProcess(Parts parts) : parts_(std::move(parts)) {}

ExecProcess::~ExecProcess() {
  if (!reaped_ && parts_.runtime_pid > 0) {
    auto deadline = std::chrono::steady_clock::now() + kKillGrace;
    for (;;) {
      pollfd pfd{parts_.pidfd.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 0) > 0) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        spdlog::warn("[exec ctr={}] runtime {} still running after its process was killed, "
                     "killing it",
                     log::short_id(parts_.id), parts_.runtime_pid);
        ::kill(parts_.runtime_pid, SIGKILL);
        break;
      }
      kill();
      ::poll(&pfd, 1, 50);
    }
    (void)wait();
  }
  for (const auto& f : parts_.files) ::unlink(f.c_str());
}

Status ExecProcess::resize(uint16_t width, uint16_t height) {
  if (!parts_.terminal.valid())
    return make_error(ErrorKind::kFailedPrecondition,
                      "resizing exec in container {}: it has no terminal", parts_.id);
  return set_size(parts_.terminal.get(), width, height,
                  fmt::format("the terminal of an exec in container {}", parts_.id));
}

bool ExecProcess::kill() {
  auto pid = read_exec_pid(parts_.pid_file);
  if (!pid) return false;
  kill_process_tree(*pid);
  return true;
}

Result<int> ExecProcess::wait() {
  if (reaped_)
    return make_error(ErrorKind::kInternal, "exec in container {}: already reaped", parts_.id);
  int status = 0;
  while (::waitpid(parts_.runtime_pid, &status, 0) < 0) {
    if (errno == EINTR) continue;
    reaped_ = true;
    return sys_error("waiting for the exec in container {}", parts_.id);
  }
  reaped_ = true;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

Result<std::unique_ptr<ExecProcess>> spawn_exec_process(const std::vector<std::string>& argv,
                                                        const ExecOptions& opts,
                                                        ExecProcess::Parts parts) {
  SpawnFileActions actions;
  posix_spawn_file_actions_t* fa = actions.get();

  UniqueFd high[3];
  UniqueFd listener, err_read, err_write;
  if (opts.tty) {
    if (parts.console_socket.empty())
      return make_error(ErrorKind::kInvalidArgument,
                        "exec in container {}: a terminal needs a console socket", parts.id);
    CRID_ASSIGN(listener, listen_console_socket(parts.console_socket));
    parts.files.push_back(parts.console_socket);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("exec in container {}: pipe", parts.id);
    err_read.reset(p[0]);
    err_write.reset(p[1]);
    posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(fa, err_write.get(), 2);
  } else {
    const int fds[3] = {opts.stdin_fd, opts.stdout_fd, opts.stderr_fd};
    for (int n = 0; n < 3; ++n) {
      if (fds[n] >= 0) {
        CRID_ASSIGN(high[n], dup_high(fds[n]));
        posix_spawn_file_actions_adddup2(fa, high[n].get(), n);
      } else {
        posix_spawn_file_actions_addopen(fa, n, "/dev/null", n == 0 ? O_RDONLY : O_WRONLY, 0);
      }
    }
  }
  SpawnAttributes attr(SpawnAttributes::Group::kOwn);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], fa, attr.get(), args.data(), environ);
  if (rc != 0) {
    errno = rc;
    return sys_error("exec in container {}: starting {}", parts.id, argv[0]);
  }
  parts.runtime_pid = pid;
  // The raw syscall: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    Error e = sys_error("exec in container {}: pidfd of {}", parts.id, argv[0]);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return e;
  }
  parts.pidfd.reset(pidfd);
  parts.runtime_stderr = std::move(err_read);
  err_write.reset();
  auto proc = std::make_unique<ExecProcess>(std::move(parts));
  if (opts.tty) {
    // On failure the process object kills and reaps the runtime.
    CRID_ASSIGN(proc->parts_.terminal, receive_console(listener.get(), pidfd, proc->parts_.id));
    if (proc->parts_.terminal.valid() && opts.width > 0 && opts.height > 0)
      CRID_TRY(proc->resize(opts.width, opts.height));
  }
  return proc;
}

}  // namespace crid::runtime
