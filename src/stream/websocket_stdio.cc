#include "stream/websocket_stdio.h"

#include <fcntl.h>
#include <unistd.h>

namespace crid::stream::ws {
namespace {

struct Pipe {
  UniqueFd r, w;
};

// Both ends close-on-exec (the backend dups what a child needs); only the
// session's end non-blocking: O_NONBLOCK belongs to the open file, so the
// backend's end stays blocking.
Result<Pipe> make_pipe(const char* what, bool session_reads) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("creating the {} pipe", what);
  Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
  int mine = session_reads ? p.r.get() : p.w.get();
  int flags = ::fcntl(mine, F_GETFL);
  if (flags < 0 || ::fcntl(mine, F_SETFL, flags | O_NONBLOCK) != 0) {
    return sys_error("making the {} pipe non-blocking", what);
  }
  return p;
}

}  // namespace

Result<StdioPipes> make_stdio_pipes(const StdioWanted& wanted) {
  StdioPipes out;
  if (wanted.stdin) {
    CRID_ASSIGN(Pipe p, make_pipe("stdin", false));
    out.backend.in = std::move(p.r);
    out.session.stdin_w = std::move(p.w);
  }
  if (wanted.stdout) {
    CRID_ASSIGN(Pipe p, make_pipe("stdout", true));
    out.backend.out = std::move(p.w);
    out.session.stdout_r = std::move(p.r);
  }
  if (wanted.stderr && !wanted.tty) {
    CRID_ASSIGN(Pipe p, make_pipe("stderr", true));
    out.backend.err = std::move(p.w);
    out.session.stderr_r = std::move(p.r);
  }
  if (wanted.tty) {
    CRID_ASSIGN(Pipe p, make_pipe("resize", false));
    out.backend.resize = std::move(p.r);
    out.session.resize_w = std::move(p.w);
  }
  CRID_ASSIGN(Pipe cancel, make_pipe("cancel", false));
  out.backend.cancel = std::move(cancel.r);
  out.session.cancel_w = std::move(cancel.w);
  return out;
}

}  // namespace crid::stream::ws
