#include "runtime/exec_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/process_probe.h"
#include "util/fs.h"
#include "util/log.h"

extern char** environ;

namespace crid::runtime {

using namespace std::chrono_literals;

namespace {

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

struct Pty {
  UniqueFd master;
  std::string slave_path;
};

Result<Pty> open_pty(uint16_t width, uint16_t height) {
  Pty pty;
  pty.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master.valid()) return sys_error("opening a pseudo-terminal");
  if (::grantpt(pty.master.get()) != 0 || ::unlockpt(pty.master.get()) != 0)
    return sys_error("unlocking a pseudo-terminal");
  char name[128];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0)
    return sys_error("naming a pseudo-terminal");
  pty.slave_path = name;
  if (width > 0 && height > 0) {
    winsize ws{};
    ws.ws_col = width;
    ws.ws_row = height;
    if (::ioctl(pty.master.get(), TIOCSWINSZ, &ws) != 0)
      return sys_error("setting the size of {}", pty.slave_path);
  }
  return pty;
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
  winsize ws{};
  ws.ws_col = width;
  ws.ws_row = height;
  if (::ioctl(parts_.terminal.get(), TIOCSWINSZ, &ws) != 0)
    return sys_error("resizing the terminal of an exec in container {}", parts_.id);
  return Ok();
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
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  struct FaGuard {
    posix_spawn_file_actions_t* fa;
    ~FaGuard() { posix_spawn_file_actions_destroy(fa); }
  } fa_guard{&fa};

  Pty pty;
  UniqueFd high[3];
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (opts.tty) {
    CRID_ASSIGN(pty, open_pty(opts.width, opts.height));
    // A new session, then opening the slave makes it the controlling
    // terminal (the runtime needs one to set raw and to get SIGWINCH).
    posix_spawn_file_actions_addopen(&fa, 0, pty.slave_path.c_str(), O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&fa, 0, 1);
    posix_spawn_file_actions_adddup2(&fa, 0, 2);
    flags |= POSIX_SPAWN_SETSID;
  } else {
    const int fds[3] = {opts.stdin_fd, opts.stdout_fd, opts.stderr_fd};
    for (int n = 0; n < 3; ++n) {
      if (fds[n] >= 0) {
        CRID_ASSIGN(high[n], dup_high(fds[n]));
        posix_spawn_file_actions_adddup2(&fa, high[n].get(), n);
      } else {
        posix_spawn_file_actions_addopen(&fa, n, "/dev/null", n == 0 ? O_RDONLY : O_WRONLY, 0);
      }
    }
    // Its own process group: a terminal's ^C to the daemon must not reach it.
    flags |= POSIX_SPAWN_SETPGROUP;
  }

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, flags);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
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
  parts.terminal = std::move(pty.master);
  return std::make_unique<ExecProcess>(std::move(parts));
}

}  // namespace crid::runtime
