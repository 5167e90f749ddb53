// Where the metrics endpoint listens, from the `metrics_address` setting:
// "127.0.0.1:9090", "[::1]:9090", ":9090" or "localhost:9090" (loopback),
// another IP literal when the operator writes one, or "unix:///path".
// Host names other than localhost are refused: no DNS at start-up.
#pragma once

#include <sys/socket.h>

#include <string>

#include "util/result.h"

namespace crid::metrics {

struct ListenAddress {
  bool is_unix = false;
  std::string path;  // unix
  std::string host;  // IP literal, without brackets
  int port = 0;      // 0: the kernel picks one
  bool ipv6 = false;

  std::string str() const;  // "127.0.0.1:9090", "[::1]:9090", "unix:///run/x.sock"
};

Result<ListenAddress> parse_listen_address(const std::string& text);

}  // namespace crid::metrics
