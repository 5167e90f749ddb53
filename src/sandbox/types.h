// Domain types of pod sandboxes: what the kubelet asks for (PodConfig) and
// what crid keeps about a pod (Pod). No protobuf here; server/ translates.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "network/cni_invoker.h"
#include "sandbox/namespaces.h"
#include "sandbox/pause.h"
#include "sandbox/pod_files.h"

namespace crid::sandbox {

struct PodMetadata {
  std::string name;
  std::string uid;
  std::string namespace_;
  uint32_t attempt = 0;
};

struct PodConfig {
  PodMetadata metadata;
  std::string hostname;
  std::string log_directory;
  DnsConfig dns;
  std::vector<network::PortMapping> port_mappings;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // linux
  std::string cgroup_parent;
  std::map<std::string, std::string> sysctls;
  NamespaceOptions namespaces;
  bool privileged = false;
  bool readonly_rootfs = false;
  int64_t run_as_user = -1;   // -1: unset
  int64_t run_as_group = -1;  // -1: unset
  std::vector<int64_t> supplemental_groups;
  std::string seccomp_profile;   // "", "runtime/default", "unconfined", "localhost/<path>"
  std::string apparmor_profile;  // same shape
};

enum class PodState { kReady = 0, kNotReady = 1 };

// One pod as stored.
struct Pod {
  std::string id;
  PodConfig config;
  PodState state = PodState::kReady;
  int64_t created_at_ns = 0;
  std::string runtime_handler;
  std::string cgroup_parent;  // effective (config's or the default)
  PodNamespaces ns;           // pins; empty for host namespaces
  InfraProcess infra;         // the pause of a pid-mode POD pod, while it runs
  std::vector<std::string> ips;
  std::string cni_result;     // JSON of the final ADD result ("" when none)
  std::string network_name;
};

// Filter of List: every set field must match.
struct PodFilter {
  std::string id_prefix;
  bool has_state = false;
  PodState state = PodState::kReady;
  std::map<std::string, std::string> labels;
};

// Serialization of PodConfig for the store (JSON).
std::string config_to_json(const PodConfig& c);
Result<PodConfig> config_from_json(const std::string& text);

}  // namespace crid::sandbox
