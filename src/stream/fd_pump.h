// Small pieces for moving bytes between descriptors in a poll loop without
// ever blocking on one side: the streaming backend must keep watching the
// client's cancel and the process's exit while a slow reader stalls.
#pragma once

#include <poll.h>

#include <cstddef>
#include <string>

#include "stream/stream_backend.h"
#include "util/result.h"

namespace crid::stream {

// Makes `fd` non-blocking (its open file description: our end only).
Status set_nonblocking(int fd);

// A non-blocking destination with a backlog. Once the reader is gone
// (EPIPE, EIO...) further bytes are dropped: a client that left must not
// fail the process it started.
class Outlet {
 public:
  // Bytes queued before the source stops being read (backpressure).
  static constexpr size_t kHighWater = 256 * 1024;

  Outlet() = default;
  explicit Outlet(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  bool broken() const { return broken_; }
  bool pending() const { return !buf_.empty(); }
  bool full() const { return buf_.size() >= kHighWater; }
  // Queues `data` and writes what the descriptor takes now.
  void push(const char* data, size_t len);
  // Writes queued bytes the descriptor takes now.
  void flush();
  // Blocks (polling `cancel` too) until everything is written, the reader
  // is gone or `cancel` fires.
  void drain(int cancel);

 private:
  int fd_ = -1;
  bool broken_ = false;
  std::string buf_;
};

// True if `fd` is readable or hung up, without waiting.
bool readable_now(int fd);

// Reads whole TerminalSize records available on the (non-blocking) resize
// descriptor; false once it reached EOF. The last size read, if any, is put
// in *last.
bool read_resizes(int fd, TerminalSize* last, bool* got);

}  // namespace crid::stream
