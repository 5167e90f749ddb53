#include "runtime/exec_reaper.h"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "util/fs.h"

extern char** environ;

namespace crid::runtime {

namespace {

constexpr int kReaperFailed = 125;

int status_code(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int fail(const char* what, const std::string& detail, int err) {
  std::fprintf(stderr, "crid exec-reaper: %s %s: %s\n", what, detail.c_str(),
               err ? std::strerror(err) : "unexpected");
  return kReaperFailed;
}

pid_t wait_for(pid_t pid, int* status) {
  pid_t r;
  while ((r = ::waitpid(pid, status, 0)) < 0 && errno == EINTR) {
  }
  return r;
}

}  // namespace

int run_exec_reaper_command(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: crid %s <dir> <pid-file> <runtime> <args...>\n",
                 kExecReaperCommand);
    return kReaperFailed;
  }
  if (::chdir(argv[2]) != 0) return fail("entering", argv[2], errno);
  const std::string pid_file = argv[3];
  // Before the runtime starts: its child, once orphaned, must come to us.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    return fail("becoming a child subreaper", "", errno);

  pid_t runtime = -1;
  int rc = ::posix_spawn(&runtime, argv[4], nullptr, nullptr, argv + 4, environ);
  if (rc != 0) return fail("starting", argv[4], rc);
  int status = 0;
  if (wait_for(runtime, &status) < 0) return fail("waiting for", argv[4], errno);
  // The runtime said why on stderr, which is ours.
  if (status_code(status) != 0) return status_code(status);

  auto text = fs::read_file(pid_file, 64);
  if (!text) return fail("reading", pid_file, 0);
  pid_t exec_pid = static_cast<pid_t>(std::strtol(text->c_str(), nullptr, 10));
  if (exec_pid <= 0) return fail("no pid in", pid_file, 0);
  // Reap whatever else was orphaned onto us on the way (the runtime's own
  // helpers); the exec'd process's status is the answer. Its own orphans,
  // left running, go on to our parent's reaper when we exit.
  for (;;) {
    pid_t r = wait_for(-1, &status);
    if (r < 0) return fail("waiting for exec'd process", std::to_string(exec_pid), errno);
    if (r == exec_pid) return status_code(status);
  }
}

}  // namespace crid::runtime
