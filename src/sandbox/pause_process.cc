#include "sandbox/pause_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <initializer_list>

namespace crid::sandbox {

namespace {

void loop_as_init() {
  sigset_t wanted;
  sigemptyset(&wanted);
  for (int s : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&wanted, s);
  for (;;) {
    int sig = 0;
    if (sigwait(&wanted, &sig) != 0) continue;
    if (sig == SIGTERM || sig == SIGINT) return;
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
}

// Joins the namespaces open on fds 3 .. 3+n-1 (net, ipc, uts pins; any
// order, setns tells their kind from the fd).
bool join_handed_namespaces() {
  const char* count = std::getenv(kPauseNamespaceFdsEnv);
  if (!count) return true;
  long n = std::strtol(count, nullptr, 10);
  if (n < 0 || n > 8) {
    std::fprintf(stderr, "crid pause: %s=%s is not a namespace count\n", kPauseNamespaceFdsEnv,
                 count);
    return false;
  }
  for (int fd = 3; fd < 3 + n; ++fd) {
    if (setns(fd, 0) != 0) {
      std::fprintf(stderr, "crid pause: joining the namespace on fd %d: ", fd);
      std::perror("setns");
      return false;
    }
    ::close(fd);
  }
  return true;
}

}  // namespace

int run_pause_command() {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  if (getpid() != 1) {
    // Launcher: single-threaded here, so setns and fork are safe.
    if (!join_handed_namespaces()) return 1;
    if (unshare(CLONE_NEWPID) != 0) {
      std::perror("crid pause: unshare(CLONE_NEWPID)");
      return 1;
    }
    pid_t init = fork();
    if (init < 0) {
      std::perror("crid pause: fork");
      return 1;
    }
    if (init > 0) {
      std::printf("%d\n", init);
      std::fflush(stdout);
      // Nothing to clean up, and exit-time hooks must not run here: after
      // unshare(CLONE_NEWPID) any thread they start lands in the pod's PID
      // namespace (LeakSanitizer's tracer then hung the launcher until
      // start_pause timed out in the sanitizer build).
      _exit(0);
    }
    // Its own session, stdio on /dev/null and no other fd or cwd held, so
    // it neither dies with the daemon nor pins anything of it.
    setsid();
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd <= 2; ++fd) dup2(null, fd);
    ::close_range(3, ~0U, 0);
    if (::chdir("/") != 0) return 1;
  }
  loop_as_init();
  return 0;
}

}  // namespace crid::sandbox
