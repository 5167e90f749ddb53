// Network interface counters of a pod, read inside its network namespace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace crid::stats {

struct InterfaceCounters {
  std::string name;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

// Parses /proc/net/dev ("iface: 16 numbers" after two header lines),
// leaving out the loopback `lo`.
Result<std::vector<InterfaceCounters>> parse_proc_net_dev(std::string_view text);

// The counters of the namespace pinned at `netns_path` ("" = the daemon's
// own, for host-network pods). A short-lived thread joins the namespace
// and reads its own /proc/thread-self/net/dev, so no daemon thread ever
// changes namespace.
Result<std::vector<InterfaceCounters>> read_netns_counters(const std::string& netns_path);

}  // namespace crid::stats
