// runtime::ExecProcess: an interactive `<runtime> exec` (kubectl exec),
// started so that the process we spawn exits with the exec'd process's
// status: the runtime itself in the foreground, or `crid exec-reaper`
// around a detached runtime (runtime/exec_reaper.h). The caller owns the
// I/O: plain descriptors handed to the process as its stdio, or, with a
// terminal, the master of the container's pty.
//
// The terminal always comes over a console socket: we listen, pass
// --console-socket, and the runtime sends the master of the pty it opened
// in the container (SCM_RIGHTS); a resize is a TIOCSWINSZ on that master.
// So the container's line discipline is the only one between the process
// and the client, as with conmon. (runc's foreground alternative, relaying
// through a pty of ours, adds a second one: "\n" came out as "\r\r\n" in
// some runs.)
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
    // With a terminal: the console socket to listen on. Its directory
    // must exist; the name may be long.
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
  // With a terminal: the runtime's own stderr (its error messages), else -1.
  int runtime_stderr() const { return parts_.runtime_stderr.get(); }
  // Resizes the container's terminal.
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
// `--console-socket <parts.console_socket>` for a terminal, or the exec
// reaper around one), wired as `opts` says, and with a terminal waits for
// the runtime to send it. posix_spawn only.
Result<std::unique_ptr<ExecProcess>> spawn_exec_process(const std::vector<std::string>& argv,
                                                        const ExecOptions& opts,
                                                        ExecProcess::Parts parts);

}  // namespace crid::runtime
