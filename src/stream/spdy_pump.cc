#include "stream/spdy_pump.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace crid::stream::spdy {

StopSignal::StopSignal() : efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void StopSignal::fire() {
  flag_.store(true);
  uint64_t one = 1;
  if (efd_.valid()) (void)!::write(efd_.get(), &one, sizeof(one));
}

namespace {

// Waits until `fd` is ready for `events` or `stop` fires; false on stop.
Result<bool> wait_fd(int fd, short events, const StopSignal& stop) {
  for (;;) {
    if (stop.fired()) return false;
    pollfd p[2] = {{fd, events, 0}, {stop.fd(), POLLIN, 0}};
    int rc = ::poll(p, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll");
    }
    if (p[1].revents) return false;
    if (p[0].revents) return true;
  }
}

}  // namespace

Status pump_fd_to_stream(Connection& c, Stream& s, int fd, const StopSignal& stop) {
  char buf[32 * 1024];
  for (;;) {
    CRID_ASSIGN(bool ready, wait_fd(fd, POLLIN, stop));
    if (!ready) return make_error(ErrorKind::kCancelled, "stopped");
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return sys_error("reading for SPDY stream {}", s.id);
    }
    if (n == 0) return Ok();
    CRID_TRY(c.write(s, std::string_view(buf, static_cast<size_t>(n))));
  }
}

Status write_fd_all(int fd, std::string_view data, const StopSignal& stop) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        CRID_ASSIGN(bool ready, wait_fd(fd, POLLOUT, stop));
        if (!ready) return make_error(ErrorKind::kCancelled, "stopped");
        continue;
      }
      return sys_error("writing stream data");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Status pump_stream_to_fd(Connection& c, Stream& s, int fd, const StopSignal& stop) {
  for (;;) {
    auto chunk = c.next_chunk(s, stop.flag());
    if (!chunk) return stop.fired() ? Status(make_error(ErrorKind::kCancelled, "stopped")) : Ok();
    CRID_TRY(write_fd_all(fd, *chunk, stop));
  }
}

Status make_pipe(UniqueFd* read_end, UniqueFd* write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe2");
  read_end->reset(p[0]);
  write_end->reset(p[1]);
  return Ok();
}

}  // namespace crid::stream::spdy
