// Reads a cgroup's CPU, memory and process counters from cgroupfs, v1
// (one hierarchy per controller) or v2 (unified). The root is a parameter
// so tests point the reader at fake trees they write into a temp dir.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/result.h"

namespace crid::stats {

enum class CgroupVersion { kV1, kV2 };

// One reading of a cgroup; all counters are cumulative or current values
// as the kernel reports them, taken at `timestamp_ns` (wall clock).
struct CgroupSample {
  int64_t timestamp_ns = 0;
  uint64_t cpu_usage_ns = 0;  // cumulative CPU time of all tasks
  uint64_t memory_usage = 0;  // v1 memory.usage_in_bytes, v2 memory.current
  uint64_t inactive_file = 0;
  uint64_t rss = 0;           // v1 total_rss, v2 anon
  uint64_t page_faults = 0;
  uint64_t major_page_faults = 0;
  std::optional<uint64_t> memory_limit;  // unset: unlimited
  std::optional<uint64_t> processes;     // unset: no pids controller there

  // What the kubelet evicts on: usage minus the page cache the kernel can
  // drop at once (inactive file), never below zero.
  uint64_t working_set() const {
    return memory_usage > inactive_file ? memory_usage - inactive_file : 0;
  }
  // Limit minus working set, when limited.
  std::optional<uint64_t> available() const {
    if (!memory_limit) return std::nullopt;
    uint64_t ws = working_set();
    return *memory_limit > ws ? *memory_limit - ws : 0;
  }
};

class CgroupReader {
 public:
  CgroupReader(CgroupVersion version, std::string root);
  // The host's layout under /sys/fs/cgroup: v2 when it is a cgroup2 mount,
  // else v1 (hybrid hosts keep their controllers in v1).
  static CgroupReader for_host(const std::string& root = "/sys/fs/cgroup");

  CgroupVersion version() const { return version_; }
  const std::string& root() const { return root_; }

  // `rel_path` is the cgroup's path inside a hierarchy ("/crid/crid-<id>").
  // A missing or malformed file is an error naming it (NotFound when the
  // cgroup itself is gone).
  Result<CgroupSample> read(const std::string& rel_path) const;
  // Whether the cgroup exists (its memory directory, on v1).
  bool exists(const std::string& rel_path) const;

 private:
  Result<std::string> dir_of(const char* controller, const std::string& rel_path) const;
  Status read_v1(const std::string& rel_path, CgroupSample& s) const;
  Status read_v2(const std::string& rel_path, CgroupSample& s) const;

  CgroupVersion version_;
  std::string root_;
};

}  // namespace crid::stats
