// Domain types of container and pod statistics. No protobuf here; server/
// translates. Every group carries the time it was read at (wall clock, ns).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "container/types.h"
#include "sandbox/types.h"
#include "stats/net_dev.h"

namespace crid::stats {

struct CpuStats {
  int64_t timestamp_ns = 0;
  uint64_t usage_core_ns = 0;
  std::optional<uint64_t> usage_nano_cores;  // unset until a second sample
};

struct MemoryStats {
  int64_t timestamp_ns = 0;
  uint64_t usage_bytes = 0;
  uint64_t working_set_bytes = 0;
  uint64_t rss_bytes = 0;
  uint64_t page_faults = 0;
  uint64_t major_page_faults = 0;
  std::optional<uint64_t> available_bytes;  // set when limited
  std::optional<uint64_t> limit_bytes;
};

struct ProcessStats {
  int64_t timestamp_ns = 0;
  uint64_t count = 0;
};

struct FilesystemStats {
  int64_t timestamp_ns = 0;
  std::string mountpoint;  // the filesystem holding the layer
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
};

struct NetworkStats {
  int64_t timestamp_ns = 0;
  std::string default_interface;  // "eth0" when present, else the first
  std::vector<InterfaceCounters> interfaces;
};

struct ContainerStats {
  container::ContainerRecord container;
  std::optional<CpuStats> cpu;  // unset while the container has no cgroup
  std::optional<MemoryStats> memory;
  std::optional<ProcessStats> process;
  std::optional<FilesystemStats> writable_layer;
};

struct PodStats {
  sandbox::Pod pod;
  std::optional<CpuStats> cpu;
  std::optional<MemoryStats> memory;
  std::optional<NetworkStats> network;
  std::optional<ProcessStats> process;
  std::vector<ContainerStats> containers;
};

}  // namespace crid::stats
