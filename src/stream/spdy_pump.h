// Moving bytes between SPDY streams and file descriptors (pipes to the
// backend, sockets in the pod), each loop ending early when its StopSignal
// fires.
#pragma once

#include <atomic>

#include "stream/spdy_connection.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::stream::spdy {

// A flag for next_chunk() plus an eventfd for poll(): fire() sets both.
class StopSignal {
 public:
  StopSignal();
  void fire();
  bool fired() const { return flag_.load(); }
  const std::atomic<bool>& flag() const { return flag_; }
  int fd() const { return efd_.get(); }

 private:
  std::atomic<bool> flag_{false};
  UniqueFd efd_;
};

// Reads `fd` until EOF and sends it as DATA on `s`. Ok at EOF; Cancelled
// when `stop` fires first; an error when the read or the send fails.
Status pump_fd_to_stream(Connection& c, Stream& s, int fd, const StopSignal& stop);

// Writes the stream's inbound data to `fd` until the client's FIN. Ok at
// FIN; Cancelled when `stop` fires; an error when the write fails.
Status pump_stream_to_fd(Connection& c, Stream& s, int fd, const StopSignal& stop);

// Writes all of `data` to a (possibly non-blocking) fd, waiting for room
// but giving up when `stop` fires.
Status write_fd_all(int fd, std::string_view data, const StopSignal& stop);

// pipe2(O_CLOEXEC): [0] read end, [1] write end.
Status make_pipe(UniqueFd* read_end, UniqueFd* write_end);

}  // namespace crid::stream::spdy
