#include "metrics/listen_address.h"
#include "util/printable.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>

#include <fmt/format.h>

namespace crid::metrics {

std::string ListenAddress::str() const {
  if (is_unix) return "unix://" + path;
  return ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

Result<ListenAddress> parse_listen_address(const std::string& text) {
  ListenAddress a;
  if (text.rfind("unix://", 0) == 0) {
    a.is_unix = true;
    a.path = text.substr(7);
    if (a.path.empty() || a.path.front() != '/')
      return make_error(ErrorKind::kInvalidArgument, "metrics address {}: the socket path must be absolute", text);
    if (a.path.size() >= sizeof(sockaddr_un{}.sun_path))
      return make_error(ErrorKind::kInvalidArgument, "metrics address {}: the socket path is too long", text);
    return a;
  }
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return make_error(ErrorKind::kInvalidArgument,
                      "metrics address {}: expected host:port, [v6]:port or unix:///path", text);
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535)
    return make_error(ErrorKind::kInvalidArgument, "metrics address {}: port {} is not 0-65535", printable(text), printable(port));
  a.port = p;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    a.ipv6 = true;
  }
  // Loopback unless the operator names another address.
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(a.ipv6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1)
    return make_error(ErrorKind::kInvalidArgument,
                      "metrics address {}: {} is not an IP{} address (host names other than localhost "
                      "are not resolved)",
                      printable(text), printable(host), a.ipv6 ? "v6" : "v4");
  a.host = host;
  return a;
}

}  // namespace crid::metrics
