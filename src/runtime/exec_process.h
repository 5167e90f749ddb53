// runtime::ExecProcess: an interactive `<runtime> exec` (kubectl exec),
// started in the foreground so that the runtime process exits with the
// exec'd process's status. The caller owns the I/O: plain descriptors
// handed to the process as its stdio, or, with a terminal, the master side
// of a host pty.
//
// A terminal comes one of two ways, by what the runtime can do in the
// foreground:
// - a console socket (crun): we listen, pass --console-socket, and the
//   runtime sends the master of the container's pty over it (SCM_RIGHTS);
//   a resize is a TIOCSWINSZ on that master.
// - a host pty (runc): runc ignores --console-socket unless --detach, and a
//   detached process is reparented away from us, so its exit code would be
//   lost. In the foreground runc wants its own stdio to be a terminal: it
//   sets it raw, copies between it and the container's pty, and on SIGWINCH
//   copies its size over (CRI-O runs `runc exec -t` this way). So runc gets
//   the slave of a pty we create as stdio and controlling terminal, we keep
//   the master, and a TIOCSWINSZ on it reaches the container through the
//   kernel's SIGWINCH to runc. (crun < 1.8.7 ignores SIGWINCH there, hence
//   the socket for crun.)
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
    UniqueFd runtime_stderr;
    std::string pid_file;  // where the runtime writes the exec'd pid
    // With a terminal over a console socket: where to listen ("" for a
    // host pty). Its directory must exist; the name may be long.
    std::string console_socket;
    std::vector<std::string> files;  // removed once reaped
  };
  explicit ExecProcess(Parts parts);
  // Kills the process if still running, reaps the runtime, removes files.
  ~ExecProcess();
  ExecProcess(const ExecProcess&) = delete;
  ExecProcess& operator=(const ExecProcess&) = delete;

  // Readable once the runtime process (hence the exec'd process) has exited.
  int exit_fd() const { return parts_.pidfd.get(); }
  // The pty master with a terminal, else -1 (also if the runtime failed
  // before handing one over). Reads give EIO once every process on the
  // terminal's other side has gone.
  int terminal() const { return parts_.terminal.get(); }
  // With a console socket: the runtime's own stderr (its error messages,
  // which would otherwise land on a terminal), else -1.
  int runtime_stderr() const { return parts_.runtime_stderr.get(); }
  // Resizes the terminal; the runtime passes it on to the container's pty.
  Status resize(uint16_t width, uint16_t height);
  // SIGKILLs the exec'd process and what it started. False if its pid is
  // not known yet (the runtime has not written the pid file): try again.
  bool kill();
  // Waits for the runtime to exit and reaps it: the exit code, 128+signal
  // if the process was killed. Only once.
  Result<int> wait();

 private:
  friend Result<std::unique_ptr<ExecProcess>> spawn_exec_process(const std::vector<std::string>&,
                                                                 const ExecOptions&, Parts);
  Parts parts_;
  bool reaped_ = false;
};

// Spawns `argv` (a runtime's `exec ... --pid-file <parts.pid_file>`, with
// `--console-socket <parts.console_socket>` if set) in the foreground, wired
// as `opts` says, and with a console socket waits for the terminal. With a
// host pty the child gets its own session with the slave as controlling
// terminal. posix_spawn only.
Result<std::unique_ptr<ExecProcess>> spawn_exec_process(const std::vector<std::string>& argv,
                                                        const ExecOptions& opts,
                                                        ExecProcess::Parts parts);

}  // namespace crid::runtime
