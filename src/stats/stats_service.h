// StatsService: container and pod statistics (ContainerStats ...
// ListPodSandboxStats and the metrics built on them) in domain types.
//
// CPU, memory and process counts come from cgroups (the container's
// cgroupsPath from its OCI spec; the pod's cgroup parent when the kubelet
// gave the pod one of its own, else the sum of its containers, since the
// default parent is shared by every pod). Writable-layer usage comes from a
// cache refreshed in the background; network counters are read inside the
// pod's network namespace. Nothing here holds a lock a lifecycle call needs.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "container/container_manager.h"
#include "sandbox/sandbox_manager.h"
#include "stats/cgroup_reader.h"
#include "stats/cpu_rate.h"
#include "stats/disk_usage.h"
#include "stats/types.h"

namespace crid::stats {

class StatsService {
 public:
  struct Deps {
    container::ContainerManager& containers;
    sandbox::SandboxManager& pods;
    CgroupReader cgroups;
    std::string containers_dir;  // <root>/containers, for the filesystem's mountpoint
    std::chrono::milliseconds disk_refresh = std::chrono::seconds(5);
  };
  explicit StatsService(Deps deps);

  // NotFound naming the id for unknown containers / pods (id or unique
  // prefix accepted, as the status calls do).
  Result<ContainerStats> container(const std::string& id);
  std::vector<ContainerStats> containers(const container::ContainerFilter& filter);
  Result<PodStats> pod(const std::string& id);
  Result<std::vector<PodStats>> pods(const sandbox::PodFilter& filter);

 private:
  // `strict`: a running container whose cgroup cannot be read is an error
  // (single-object calls); lists log it and leave the fields unset.
  Result<ContainerStats> collect(const container::ContainerRecord& rec, bool strict);
  PodStats collect_pod(const sandbox::Pod& pod,
                       const std::vector<container::ContainerRecord>& records);
  Result<std::string> container_cgroup(const container::ContainerRecord& rec);
  Status read_cgroup(const std::string& key, const std::string& rel_path, std::optional<CpuStats>& cpu,
                     std::optional<MemoryStats>& memory, std::optional<ProcessStats>& process);

  container::ContainerManager& containers_;
  sandbox::SandboxManager& pods_;
  CgroupReader cgroups_;
  std::string fs_mountpoint_;
  CpuRateTracker cpu_rates_;
  DiskUsageCache disk_;
  std::mutex paths_mu_;
  std::map<std::string, std::string> cgroup_paths_;  // container id -> cgroupfs path
};

}  // namespace crid::stats
