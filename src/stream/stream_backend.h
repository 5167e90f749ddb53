// stream::StreamBackend: what the streaming server (SPDY or WebSocket) asks
// of the container side once a session is negotiated. The protocol layer
// only moves bytes between the client and plain file descriptors; the
// backend wires those descriptors to a process, a running container's
// stdio, or a socket inside the pod's network namespace. Neither side
// knows the other's details, so each is tested on its own with pipes.
#pragma once

#include <cstdint>
#include <string>

#include "stream/requests.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::stream {

struct TerminalSize {
  uint16_t width = 0;   // columns
  uint16_t height = 0;  // rows
};

// One end of each pipe the protocol layer pumps to and from the client.
// A descriptor the client did not ask for is left invalid (-1).
struct StdioFds {
  UniqueFd in;   // read end: the client's stdin; EOF once the client closed it
  UniqueFd out;  // write end: to the client's stdout (with a tty, the terminal)
  UniqueFd err;  // write end: to the client's stderr; invalid with a tty
  // Read end carrying resize events as raw TerminalSize records
  // (sizeof(TerminalSize) bytes each); valid only with a tty.
  UniqueFd resize;
  // Readable (an eventfd or the read end of a pipe that gets closed) once
  // the client has gone away; the backend stops then.
  UniqueFd cancel;
};

class StreamBackend {
 public:
  virtual ~StreamBackend() = default;

  // Runs req.cmd in the container wired to `io` and returns its exit code
  // once it has exited. Before returning, the backend closes its ends of
  // io.out/io.err, so the protocol layer reads them to EOF (bounded by a
  // short grace, as a daemonised grandchild may hold them). When io.cancel
  // fires the process is killed and reaped before returning.
  virtual Result<int> exec(const ExecRequest& req, StdioFds io) = 0;

  // Connects `io` to the running container's stdio until the container
  // exits, the client goes away (io.cancel) or, with stdin_once semantics
  // left to the caller, stdin reaches EOF. Never stops the container.
  virtual Status attach(const AttachRequest& req, StdioFds io) = 0;

  // A TCP connection to 127.0.0.1:port (then [::1]:port) inside the pod's
  // network namespace, connected, blocking mode. A closed port is an error
  // naming the pod and the port.
  virtual Result<UniqueFd> connect_port(const std::string& pod_id, uint16_t port) = 0;
};

}  // namespace crid::stream
