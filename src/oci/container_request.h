// Domain types for OCI spec generation: what CreateContainer asks for (a
// mirror of the CRI ContainerConfig fields crid honours), what the pod
// provides, and what the daemon knows about its host. No protobuf here:
// src/server/ translates CRI messages into these.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/types.h"

namespace crid::oci {

// CRI MountPropagation.
enum class MountPropagation { kPrivate, kHostToContainer, kBidirectional };

// CRI NamespaceMode.
enum class NamespaceMode { kPod, kContainer, kNode, kTarget };

struct Mount {
  std::string container_path;
  std::string host_path;
  bool readonly = false;
  bool recursive_read_only = false;  // needs readonly and PRIVATE propagation
  MountPropagation propagation = MountPropagation::kPrivate;
  bool selinux_relabel = false;  // accepted, ignored: crid does no relabeling
};

struct Device {
  std::string container_path;
  std::string host_path;
  std::string permissions = "rwm";  // cgroup access: any of r, w, m
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;     // bytes
};

// CRI LinuxContainerResources; zero means "not set" as in CRI.
struct Resources {
  int64_t cpu_period = 0;
  int64_t cpu_quota = 0;
  int64_t cpu_shares = 0;
  int64_t memory_limit_in_bytes = 0;
  int64_t memory_swap_limit_in_bytes = 0;
  int64_t oom_score_adj = 0;
  std::string cpuset_cpus;
  std::string cpuset_mems;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;  // cgroup v2 files
};

struct NamespaceOptions {
  NamespaceMode network = NamespaceMode::kPod;
  NamespaceMode pid = NamespaceMode::kContainer;
  NamespaceMode ipc = NamespaceMode::kPod;
  std::string target_id;  // the container whose pid namespace TARGET joins
};

// CRI SecurityProfile (seccomp and AppArmor).
struct SecurityProfile {
  enum class Type { kRuntimeDefault, kUnconfined, kLocalhost };
  Type type = Type::kUnconfined;
  std::string localhost_ref;  // seccomp: a path under the profile root;
                              // AppArmor: a loaded profile's name
};

struct SelinuxOptions {
  std::string user, role, type, level;
  bool empty() const { return user.empty() && role.empty() && type.empty() && level.empty(); }
};

struct SecurityContext {
  std::vector<std::string> add_capabilities;
  std::vector<std::string> drop_capabilities;
  std::vector<std::string> add_ambient_capabilities;
  bool privileged = false;
  NamespaceOptions namespace_options;
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::string run_as_username;
  bool readonly_rootfs = false;
  std::vector<int64_t> supplemental_groups;
  bool no_new_privs = false;
  // nullopt: crid's defaults. The CRI cannot tell an unset list from an
  // empty one; like containerd, the server passes what the kubelet sent (the
  // kubelet sends the defaults itself unless procMount is Unmasked), so an
  // empty CRI list arrives here as an empty vector and means "none".
  std::optional<std::vector<std::string>> masked_paths;
  std::optional<std::vector<std::string>> readonly_paths;
  std::optional<SecurityProfile> seccomp;   // nullopt: unconfined (CRI)
  std::optional<SecurityProfile> apparmor;  // nullopt: no profile requested
  SelinuxOptions selinux;
};

// What CreateContainer asks for.
struct ContainerRequest {
  std::string name;  // metadata.name
  uint32_t attempt = 0;
  std::string image_ref;  // as the user named it; goes into annotations
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<std::pair<std::string, std::string>> envs;  // in request order
  std::vector<Mount> mounts;
  std::vector<Device> devices;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string log_path;
  bool stdin = false;
  bool stdin_once = false;
  bool tty = false;
  Resources resources;
  SecurityContext security;
};

// What the pod gives its containers. An empty namespace path with the host
// flag unset means the container gets a namespace of its own.
struct SandboxInfo {
  std::string id;
  std::string name;
  std::string namespace_;
  std::string uid;
  std::string hostname;
  std::string network_ns_path;
  std::string ipc_ns_path;
  std::string uts_ns_path;
  bool host_network = false;  // also means the host's UTS namespace
  bool host_ipc = false;
  bool privileged = false;  // the pod's security context allows privileged containers
  NamespaceMode pid_mode = NamespaceMode::kContainer;
  std::string infra_pid_ns_path;  // pod-shared pid namespace, if any
  std::string hosts_path;
  std::string resolv_conf_path;
  std::string hostname_path;
  // The pod's /dev/shm. Empty, or an IPC namespace of the container's own:
  // a private tmpfs. Host IPC: the node's /dev/shm.
  std::string shm_path;
  std::string cgroup_parent;
  std::map<std::string, std::string> sysctls;  // namespaced, pod-wide
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
};

enum class CgroupDriver { kCgroupfs, kSystemd };

// What the daemon knows about itself and the host.
struct BuildContext {
  std::string rootfs_path;
  std::string container_id;
  std::string runtime_handler;
  std::vector<std::string> bounding_set;  // "CAP_CHOWN", ... of the daemon
  int64_t pids_limit = 0;                 // 0: none
  bool restrict_oom_score_adj = false;
  int64_t daemon_oom_score_adj = 0;
  std::string seccomp_profile_root;
  uint64_t rlimit_nofile = 1048576;
  bool apparmor_available = false;
  std::string apparmor_default_profile = "crid-default";
  bool selinux_available = false;
  bool unified_cgroups = false;  // cgroup v2 host: containers get a cgroupns
  CgroupDriver cgroup_driver = CgroupDriver::kCgroupfs;
};

// A host device node as stat(2) saw it (see devices.h).
struct DeviceNode {
  std::string path;  // where it appears in the container
  char type = 'c';   // 'c' or 'b'
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t file_mode = 0666;  // permission bits only
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// An image VOLUME backed by a directory the caller prepared on the host.
struct ImageVolume {
  std::string container_path;
  std::string host_dir;
};

// Everything the builder needs, gathered by the caller: the builder itself
// does no I/O.
struct SpecInputs {
  ContainerRequest request;
  SandboxInfo sandbox;
  image::ImageConfig image;
  BuildContext context;
  std::string passwd;  // the rootfs' /etc/passwd content ("" if none)
  std::string group;   // the rootfs' /etc/group content ("" if none)
  // request.devices resolved on the host, index for index.
  std::vector<DeviceNode> request_devices;
  // Every host device node, for privileged containers.
  std::vector<DeviceNode> host_devices;
  std::vector<ImageVolume> image_volumes;
  // The profile named by a Localhost seccomp request (seccomp_localhost.h).
  std::optional<nlohmann::json> localhost_seccomp_profile;
  // /proc/<pid>/ns/pid of the TARGET container, for pid mode TARGET.
  std::string target_pid_ns_path;
};

}  // namespace crid::oci
