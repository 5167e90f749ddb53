// The pipes between a WebSocket session and the backend: the backend gets
// its ends as StdioFds, the session keeps the others, non-blocking, for its
// poll() loop.
#pragma once

#include "stream/stream_backend.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::stream::ws {

struct StdioWanted {
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
  bool tty = false;  // adds the resize pipe
};

struct SessionEnds {
  UniqueFd stdin_w;   // the client's stdin goes here
  UniqueFd stdout_r;  // the process's stdout comes out here
  UniqueFd stderr_r;
  UniqueFd resize_w;  // TerminalSize records
  // Closing it makes the backend's io.cancel readable (end of file) for
  // good, however many threads poll it.
  UniqueFd cancel_w;
};

struct StdioPipes {
  SessionEnds session;
  StdioFds backend;
};

Result<StdioPipes> make_stdio_pipes(const StdioWanted& wanted);

}  // namespace crid::stream::ws
