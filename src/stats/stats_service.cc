#include "stats/stats_service.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "image/layer_store.h"
#include "stats/cgroup_files.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/clock.h"

namespace crid::stats {

namespace {

std::string mountpoint_for(const std::string& dir) {
  char real[PATH_MAX];
  std::string path = ::realpath(dir.c_str(), real) ? std::string(real) : dir;
  auto mountinfo = fs::read_file("/proc/self/mountinfo");
  return mountinfo ? image::mountpoint_of(*mountinfo, path) : std::string();
}

// A pod's containers summed, for pods without a cgroup of their own.
void add_up(PodStats& p) {
  for (const auto& c : p.containers) {
    if (c.cpu) {
      if (!p.cpu) p.cpu = CpuStats{c.cpu->timestamp_ns, 0, uint64_t{0}};
      p.cpu->usage_core_ns += c.cpu->usage_core_ns;
      if (c.cpu->usage_nano_cores && p.cpu->usage_nano_cores)
        *p.cpu->usage_nano_cores += *c.cpu->usage_nano_cores;
      else
        p.cpu->usage_nano_cores.reset();  // one unknown makes the sum unknown
    }
    if (c.memory) {
      if (!p.memory) {
        p.memory.emplace();
        p.memory->timestamp_ns = c.memory->timestamp_ns;
      }
      p.memory->usage_bytes += c.memory->usage_bytes;
      p.memory->working_set_bytes += c.memory->working_set_bytes;
      p.memory->rss_bytes += c.memory->rss_bytes;
      p.memory->page_faults += c.memory->page_faults;
      p.memory->major_page_faults += c.memory->major_page_faults;
    }
    if (c.process) {
      if (!p.process) p.process = ProcessStats{c.process->timestamp_ns, 0};
      p.process->count += c.process->count;
    }
  }
}

NetworkStats to_network(std::vector<InterfaceCounters> ifaces) {
  NetworkStats n;
  n.timestamp_ns = now_ns();
  n.interfaces = std::move(ifaces);
  for (const auto& i : n.interfaces)
    if (i.name == "eth0") n.default_interface = i.name;
  if (n.default_interface.empty() && !n.interfaces.empty())
    n.default_interface = n.interfaces.front().name;
  return n;
}

}  // namespace

StatsService::StatsService(Deps deps)
    : containers_(deps.containers),
      pods_(deps.pods),
      cgroups_(std::move(deps.cgroups)),
      fs_mountpoint_(mountpoint_for(deps.containers_dir)),
      disk_(deps.disk_refresh) {}

Result<std::string> StatsService::container_cgroup(const container::ContainerRecord& rec) {
  {
    std::lock_guard lock(paths_mu_);
    auto it = cgroup_paths_.find(rec.id);
    if (it != cgroup_paths_.end()) return it->second;
  }
  // The spec says where the runtime put the container, whatever the
  // driver or cgroup parent was when it was created.
  std::string spec_path = containers_.bundle_dir(rec.id) + "/config.json";
  CRID_ASSIGN(std::string text, fs::read_file(spec_path));
  auto spec = nlohmann::json::parse(text, nullptr, false);
  if (spec.is_discarded() || !spec.contains("linux") || !spec["linux"].contains("cgroupsPath") ||
      !spec["linux"]["cgroupsPath"].is_string())
    return make_error(ErrorKind::kInternal, "{} has no linux.cgroupsPath", spec_path);
  std::string path = cgroup_fs_path(spec["linux"]["cgroupsPath"].get<std::string>());
  std::lock_guard lock(paths_mu_);
  if (cgroup_paths_.size() > 100000) cgroup_paths_.clear();  // removed containers pile up
  cgroup_paths_[rec.id] = path;
  return path;
}

Status StatsService::read_cgroup(const std::string& key, const std::string& rel_path,
                                 std::optional<CpuStats>& cpu, std::optional<MemoryStats>& memory,
                                 std::optional<ProcessStats>& process) {
  CRID_ASSIGN(CgroupSample s, cgroups_.read(rel_path));
  cpu = CpuStats{s.timestamp_ns, s.cpu_usage_ns, cpu_rates_.update(key, s.cpu_usage_ns, s.timestamp_ns)};
  MemoryStats m;
  m.timestamp_ns = s.timestamp_ns;
  m.usage_bytes = s.memory_usage;
  m.working_set_bytes = s.working_set();
  m.rss_bytes = s.rss;
  m.page_faults = s.page_faults;
  m.major_page_faults = s.major_page_faults;
  m.available_bytes = s.available();
  m.limit_bytes = s.memory_limit;
  memory = m;
  if (s.processes) process = ProcessStats{s.timestamp_ns, *s.processes};
  return Ok();
}

Result<ContainerStats> StatsService::collect(const container::ContainerRecord& rec, bool strict) {
  ContainerStats out;
  out.container = rec;
  bool live = rec.state == container::ContainerState::kRunning ||
              rec.state == container::ContainerState::kCreated;
  if (live) {
    Status st;
    auto path = container_cgroup(rec);
    if (!path)
      st = path.error();
    else if (cgroups_.exists(*path))  // gone: the container has just exited
      st = read_cgroup("ctr:" + rec.id, *path, out.cpu, out.memory, out.process);
    if (!st) {
      // Internal, never NotFound: the container exists, its counters do not read.
      Error e(ErrorKind::kInternal, fmt::format("stats of container {}: {}", rec.id,
                                                st.error().message()), st.error().sys_errno());
      if (strict) return e;
      spdlog::warn("[ListContainerStats ctr={}] {}", log::short_id(rec.id), e.message());
    }
  }
  auto layer = disk_.get(rec.id, containers_.rootfs_paths(rec.id).upper());
  if (layer) {
    out.writable_layer =
        FilesystemStats{layer->timestamp_ns, fs_mountpoint_, layer->bytes, layer->inodes};
  } else if (layer.error().kind() != ErrorKind::kNotFound) {
    if (strict) return layer.error().wrap(fmt::format("stats of container {}", rec.id));
    spdlog::warn("[ListContainerStats ctr={}] {}", log::short_id(rec.id), layer.error().message());
  }
  return out;
}

Result<ContainerStats> StatsService::container(const std::string& id) {
  CRID_ASSIGN(container::ContainerRecord rec, containers_.status(id));
  return collect(rec, true);
}

std::vector<ContainerStats> StatsService::containers(const container::ContainerFilter& filter) {
  std::vector<ContainerStats> out;
  for (const auto& rec : containers_.list(filter)) {
    auto s = collect(rec, false);
    if (s) out.push_back(std::move(*s));
  }
  return out;
}

PodStats StatsService::collect_pod(const sandbox::Pod& pod,
                                   const std::vector<container::ContainerRecord>& records) {
  PodStats out;
  out.pod = pod;
  for (const auto& rec : records) {
    auto s = collect(rec, false);
    if (s) out.containers.push_back(std::move(*s));
  }
  // Only a cgroup parent the kubelet chose is the pod's own; the default
  // one is shared by every pod, so the pod is the sum of its containers.
  bool own_cgroup = !pod.config.cgroup_parent.empty();
  if (own_cgroup) {
    std::string rel = pod.cgroup_parent.find('/') == std::string::npos &&
                              pod.cgroup_parent.ends_with(".slice")
                          ? systemd_slice_path(pod.cgroup_parent)
                          : cgroup_fs_path(pod.cgroup_parent);
    Status st = read_cgroup("pod:" + pod.id, rel, out.cpu, out.memory, out.process);
    if (!st && pod.state == sandbox::PodState::kReady)
      spdlog::warn("[PodSandboxStats pod={}] {}", log::short_id(pod.id), st.error().message());
  } else {
    add_up(out);
  }
  bool host_network = pod.config.namespaces.network == sandbox::NamespaceMode::kNode;
  if (pod.state == sandbox::PodState::kReady && (host_network || !pod.ns.net.empty())) {
    auto ifaces = read_netns_counters(host_network ? "" : pod.ns.net);
    if (ifaces)
      out.network = to_network(std::move(*ifaces));
    else
      spdlog::warn("[PodSandboxStats pod={}] network: {}", log::short_id(pod.id),
                   ifaces.error().message());
  }
  return out;
}

Result<PodStats> StatsService::pod(const std::string& id) {
  CRID_ASSIGN(sandbox::Pod p, pods_.status(id));
  container::ContainerFilter f;
  f.pod_id_prefix = p.id;
  auto records = containers_.list(f);
  std::erase_if(records, [&](const auto& r) { return r.pod_id != p.id; });
  return collect_pod(p, records);
}

Result<std::vector<PodStats>> StatsService::pods(const sandbox::PodFilter& filter) {
  CRID_ASSIGN(auto all, pods_.list(filter));
  // One pass over the containers for all pods: nodes have thousands.
  std::map<std::string, std::vector<container::ContainerRecord>> by_pod;
  for (auto& rec : containers_.list({})) by_pod[rec.pod_id].push_back(std::move(rec));
  std::vector<PodStats> out;
  out.reserve(all.size());
  for (const auto& p : all) out.push_back(collect_pod(p, by_pod[p.id]));
  return out;
}

}  // namespace crid::stats
