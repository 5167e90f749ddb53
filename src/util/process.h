// Running helper programs (runtimes, CNI plugins, conmon) from a
// multithreaded daemon: posix_spawn only, so nothing but the kernel runs
// between fork and exec, and every child is reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace crid {

struct SpawnOptions {
  std::vector<std::string> argv;                // argv[0] is the program path
  // If set, the file to run, and argv[0] only the name the child shows
  // (its /proc/<pid>/cmdline).
  std::string program;
  // Open fds handed to the child as fds 3, 4, ... in this order (every
  // other fd of the daemon is close-on-exec).
  std::vector<int> pass_fds;
  std::optional<std::vector<std::string>> env;  // unset: inherit the daemon's
  std::string stdin_data;                       // written to the child's stdin
  std::chrono::milliseconds timeout{0};         // 0: no timeout
  size_t max_output = 16 << 20;                 // per stream; extra is dropped
  // Called at the timeout instead of SIGKILLing the child, which is then
  // given `stop_grace` to exit by itself (e.g. `runc exec` reaping the
  // process this callback killed) before it is SIGKILLed after all.
  std::function<void(pid_t)> on_timeout;
  std::chrono::milliseconds stop_grace{std::chrono::seconds(10)};
};

struct ProcessOutput {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the signal that ended it, if any
  bool timed_out = false;
  bool truncated = false;
  std::string out;
  std::string err;

  bool success() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exited with status 2: <stderr>" for error messages.
  std::string describe() const;
};

// Runs a program to completion, feeding stdin and capturing stdout and
// stderr. On timeout the child is SIGKILLed and reaped.
Result<ProcessOutput> run_process(const SpawnOptions& opts);

}  // namespace crid
