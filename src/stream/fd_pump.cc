#include "stream/fd_pump.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace crid::stream {

Status set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return sys_error("making fd {} non-blocking", fd);
  return Ok();
}

void Outlet::push(const char* data, size_t len) {
  if (fd_ < 0 || broken_) return;
  buf_.append(data, len);
  flush();
}

void Outlet::flush() {
  while (!buf_.empty() && !broken_) {
    ssize_t n = ::write(fd_, buf_.data(), buf_.size());
    if (n > 0) {
      buf_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    broken_ = true;
    buf_.clear();
  }
}

void Outlet::drain(int cancel) {
  while (pending() && !broken_) {
    pollfd p[2] = {{fd_, POLLOUT, 0}, {cancel, POLLIN, 0}};
    int r = ::poll(p, cancel >= 0 ? 2 : 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (cancel >= 0 && p[1].revents)) return;
    flush();
    if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      flush();
      if (pending()) broken_ = true;
    }
  }
}

bool readable_now(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && p.revents;
}

bool read_resizes(int fd, TerminalSize* last, bool* got) {
  // A record is written with one write of 4 bytes, atomic on a pipe, so
  // reads return whole records.
  static_assert(sizeof(TerminalSize) == 4);
  for (;;) {
    TerminalSize sizes[16];
    ssize_t n = ::read(fd, sizes, sizeof sizes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0) return false;
    size_t count = static_cast<size_t>(n) / sizeof(TerminalSize);
    if (count > 0) {
      *last = sizes[count - 1];
      *got = true;
    }
    if (static_cast<size_t>(n) < sizeof sizes) return true;
  }
}

}  // namespace crid::stream
