// Port forwarding's container side: a TCP connection to a port on the
// pod's loopback. A socket belongs to the network namespace it was created
// in, so a short-lived thread enters the pod's pinned netns (setns affects
// only the calling thread), creates and connects the socket there and
// ends; the daemon's other threads never leave the host namespace.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "stream/container_stream_backend.h"
#include "util/log.h"

namespace crid::stream {

namespace {

struct ConnectOutcome {
  UniqueFd fd;
  int err4 = 0;  // errno of 127.0.0.1, 0 if not tried
  int err6 = 0;  // errno of [::1]
};

int connect_one(int family, uint16_t port, UniqueFd* out) {
  UniqueFd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errno;
  int rc;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    rc = ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) return errno == EINTR ? ECONNREFUSED : errno;
  *out = std::move(s);
  return 0;
}

// 127.0.0.1 first, then [::1] (a server may listen on either only).
void connect_loopback(uint16_t port, ConnectOutcome* o) {
  o->err4 = connect_one(AF_INET, port, &o->fd);
  if (o->err4 == 0) return;
  o->err6 = connect_one(AF_INET6, port, &o->fd);
}

}  // namespace

Result<UniqueFd> ContainerStreamBackend::connect_port(const std::string& pod_id, uint16_t port) {
  if (port == 0)
    return make_error(ErrorKind::kInvalidArgument, "port forward to pod {}: port 0", pod_id);
  CRID_ASSIGN(auto pod, pods_.status(pod_id));
  if (pod.state != sandbox::PodState::kReady)
    return make_error(ErrorKind::kFailedPrecondition, "port forward to pod {}: it is not ready",
                      pod.id);
  ConnectOutcome o;
  const std::string& netns = pod.ns.net;
  if (netns.empty()) {
    connect_loopback(port, &o);  // host network: the host's loopback
  } else {
    UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid())
      return sys_error("port forward to pod {}: opening its network namespace {}", pod.id, netns);
    int setns_err = 0;
    std::thread t([&] {
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        setns_err = errno;
        return;
      }
      connect_loopback(port, &o);
    });
    t.join();
    if (setns_err != 0) {
      errno = setns_err;
      return sys_error("port forward to pod {}: entering its network namespace {}", pod.id,
                       netns);
    }
  }
  if (o.fd.valid()) {
    spdlog::debug("[PortForward pod={}] connected to port {}", log::short_id(pod.id), port);
    return std::move(o.fd);
  }
  // IPv4's answer unless only IPv6 got one (an IPv6-only server).
  int e = o.err4 == ECONNREFUSED || o.err6 == 0 ? o.err4 : o.err6;
  std::string why = e == ECONNREFUSED ? "connection refused" : std::strerror(e);
  return Error(ErrorKind::kUnavailable,
               fmt::format("port forward to pod {} port {}: {}", pod.id, port, why), e);
}

}  // namespace crid::stream
