// Files every container of a pod shares, kept in <runroot>/pods/<id>/:
// hostname, hosts, resolv.conf, and the pod's /dev/shm (a tmpfs mount of
// Config::shm_size). The generators are pure; write_pod_files does the I/O.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace crid::sandbox {

struct DnsConfig {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
  bool empty() const { return servers.empty() && searches.empty() && options.empty(); }
  bool operator==(const DnsConfig&) const = default;
};

std::string hostname_file(const std::string& hostname);

// localhost lines for IPv4 and IPv6, then each pod IP with the hostname.
std::string hosts_file(const std::string& hostname, const std::vector<std::string>& pod_ips);

// resolv.conf from the pod's DNS config. Refuses a server that is not an IP
// address or an entry holding whitespace/newlines (it would inject lines).
Result<std::string> resolv_conf(const DnsConfig& dns);

struct PodFilePaths {
  std::string dir;  // <runroot>/pods/<id>
  std::string hostname() const { return dir + "/hostname"; }
  std::string hosts() const { return dir + "/hosts"; }
  std::string resolv_conf() const { return dir + "/resolv.conf"; }
  std::string shm() const { return dir + "/shm"; }
  std::string infra_pid() const { return dir + "/infra.pid"; }
};

// Writes hostname, hosts and resolv.conf (the host's /etc/resolv.conf when
// the pod has no DNS config), each replaced atomically but not fsynced: they
// live under the runroot, and a pod does not outlive a reboot.
Status write_pod_files(const PodFilePaths& paths, const std::string& hostname,
                       const std::vector<std::string>& pod_ips, const DnsConfig& dns,
                       const std::string& host_resolv_conf = "/etc/resolv.conf");

// Mounts a fresh tmpfs of `size_bytes` at paths.shm() (nosuid,nodev,noexec).
Status mount_pod_shm(const PodFilePaths& paths, int64_t size_bytes);
// Unmounts and removes it; idempotent.
Status unmount_pod_shm(const PodFilePaths& paths);

}  // namespace crid::sandbox
