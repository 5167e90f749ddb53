// runtime::ExecProcess: an interactive `<runtime> exec` (kubectl exec),
// started in the foreground so that the runtime process exits with the
// exec'd process's status. The caller owns the I/O: plain descriptors
// handed to the process as its stdio, or, with a terminal, the master side
// of a host pty.
//
// Why a host pty rather than --console-socket: runc only honours
// --console-socket with --detach, and a detached exec'd process is
// reparented away from us, so its exit code is lost. In the foreground,
// runc and crun both want their own stdio to be a terminal: they set it
// raw, copy between it and the container's pty, and on SIGWINCH copy its
// size to the container's pty (the way CRI-O runs `runc exec -t`). So the
// runtime gets the slave of a pty we create as stdio and controlling
// terminal, we keep the master, and a TIOCSWINSZ on the master reaches the
// container through the kernel's SIGWINCH to the runtime.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::runtime {

struct ExecOptions {
  std::vector<std::string> argv;
  bool tty = false;
  // Without a terminal: the process's stdin/stdout/stderr, borrowed for
  // the spawn only (they are duplicated into the child). -1: /dev/null.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // With a terminal: its size at start; 0 leaves the runtime's default.
  uint16_t width = 0;
  uint16_t height = 0;
};

class ExecProcess {
 public:
  // What a runtime backend hands over once the runtime process is spawned.
  struct Parts {
    std::string id;        // container id, for messages
    pid_t runtime_pid = -1;
    UniqueFd pidfd;        // of runtime_pid
    UniqueFd terminal;     // pty master, tty only
    std::string pid_file;  // where the runtime writes the exec'd pid
    std::vector<std::string> files;  // removed once reaped
  };
  explicit ExecProcess(Parts parts);
  // Kills the process if still running, reaps the runtime, removes files.
  ~ExecProcess();
  ExecProcess(const ExecProcess&) = delete;
  ExecProcess& operator=(const ExecProcess&) = delete;

  // Readable once the runtime process (hence the exec'd process) has exited.
  int exit_fd() const { return parts_.pidfd.get(); }
  // The pty master with a terminal, else -1. Reads give EIO once the
  // runtime has exited and what it wrote was read.
  int terminal() const { return parts_.terminal.get(); }
  // Resizes the terminal; the runtime passes it on to the container's pty.
  Status resize(uint16_t width, uint16_t height);
  // SIGKILLs the exec'd process and what it started. False if its pid is
  // not known yet (the runtime has not written the pid file): try again.
  bool kill();
  // Waits for the runtime to exit and reaps it: the exit code, 128+signal
  // if the process was killed. Only once.
  Result<int> wait();

 private:
  Parts parts_;
  bool reaped_ = false;
};

// Spawns `argv` (a runtime's `exec ... --pid-file <opts' pid file>`) in the
// foreground, wired as `opts` says. posix_spawn only; with a terminal the
// child gets its own session with the pty slave as controlling terminal.
Result<std::unique_ptr<ExecProcess>> spawn_exec_process(const std::vector<std::string>& argv,
                                                        const ExecOptions& opts,
                                                        ExecProcess::Parts parts);

}  // namespace crid::runtime
