#include "oci/spec_builder.h"

#include <algorithm>
#include <filesystem>

#include "oci/capabilities.h"
#include "oci/seccomp_default.h"
#include "oci/seccomp_localhost.h"
#include "oci/user_resolver.h"
#include "util/fs.h"

namespace crid::oci {
namespace {

using json = nlohmann::json;

constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* kOciVersion = "1.0.2";

json mount_entry(const std::string& destination, const std::string& type,
                 const std::string& source, std::vector<std::string> options) {
  json m = json::object();
  m["destination"] = destination;
  m["type"] = type;
  m["source"] = source;
  m["options"] = std::move(options);
  return m;
}

json bind_mount(const std::string& destination, const std::string& source, bool readonly,
                const char* propagation = "rprivate") {
  std::vector<std::string> options{"rbind", propagation};
  if (readonly) options.push_back("ro");
  return mount_entry(destination, "bind", source, std::move(options));
}

std::string clean_path(const std::string& p) {
  std::string s = std::filesystem::path(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

size_t path_depth(const std::string& p) {
  size_t depth = 0;
  for (const auto& part : std::filesystem::path(p).lexically_normal())
    if (part != "/" && !part.empty()) ++depth;
  return depth;
}

json device_rule(bool allow, const std::string& type, std::optional<int64_t> major,
                 std::optional<int64_t> minor, const std::string& access) {
  json r = json::object();
  r["allow"] = allow;
  if (!type.empty()) r["type"] = type;
  if (major) r["major"] = *major;
  if (minor) r["minor"] = *minor;
  r["access"] = access;
  return r;
}

// Deny everything, then allow what every container needs: mknod of any
// node, and the standard pseudo-devices (null, zero, full, random, urandom,
// tty, console, ptmx, pts) plus tun for VPN-style workloads.
json default_device_rules() {
  json rules = json::array();
  rules.push_back(device_rule(false, "", std::nullopt, std::nullopt, "rwm"));
  rules.push_back(device_rule(true, "c", std::nullopt, std::nullopt, "m"));
  rules.push_back(device_rule(true, "b", std::nullopt, std::nullopt, "m"));
  const std::pair<int64_t, int64_t> standard[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9},
                                                  {5, 0}, {5, 1}, {5, 2}, {10, 200}};
  for (auto [maj, min] : standard) rules.push_back(device_rule(true, "c", maj, min, "rwm"));
  rules.push_back(device_rule(true, "c", 136, std::nullopt, "rwm"));  // /dev/pts/*
  return rules;
}

json device_entry(const DeviceNode& d) {
  json e = json::object();
  e["path"] = d.path;
  e["type"] = std::string(1, d.type);
  e["major"] = d.major;
  e["minor"] = d.minor;
  e["fileMode"] = d.file_mode;
  e["uid"] = d.uid;
  e["gid"] = d.gid;
  return e;
}

const char* propagation_option(MountPropagation p) {
  switch (p) {
    case MountPropagation::kHostToContainer: return "rslave";
    case MountPropagation::kBidirectional: return "rshared";
    case MountPropagation::kPrivate: break;
  }
  return "rprivate";
}

std::string mode_name(NamespaceMode mode) {
  switch (mode) {
    case NamespaceMode::kPod: return "POD";
    case NamespaceMode::kContainer: return "CONTAINER";
    case NamespaceMode::kNode: return "NODE";
    case NamespaceMode::kTarget: return "TARGET";
  }
  return "?";
}

void add_namespace(json& list, const char* type, const std::string& path = "") {
  json ns = json::object();
  ns["type"] = type;
  if (!path.empty()) ns["path"] = path;
  list.push_back(std::move(ns));
}

}  // namespace

// The lists the kubelet itself sends for procMount Default, which are also
// containerd's and Docker's defaults (/proc/asound masked, where the older
// runtime-tools defaults CRI-O started from only made it read-only).
const std::vector<std::string>& default_masked_paths() {
  static const std::vector<std::string> paths{
      "/proc/asound",      "/proc/acpi",        "/proc/kcore",
      "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
      "/sys/firmware",     "/sys/devices/virtual/powercap"};
  return paths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const std::vector<std::string> paths{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                              "/proc/sysrq-trigger"};
  return paths;
}

Result<std::vector<std::string>> merge_command(const std::vector<std::string>& command,
                                               const std::vector<std::string>& args,
                                               const std::vector<std::string>& entrypoint,
                                               const std::vector<std::string>& cmd) {
  std::vector<std::string> out = command.empty() ? entrypoint : command;
  const std::vector<std::string>& tail = !args.empty() ? args : (command.empty() ? cmd : args);
  out.insert(out.end(), tail.begin(), tail.end());
  if (out.empty())
    return make_error(ErrorKind::kInvalidArgument,
                      "no command specified: neither the request nor the image gives one");
  return out;
}

std::vector<std::string> merge_env(const std::vector<std::string>& image_env,
                                   const std::string& hostname,
                                   const std::vector<std::pair<std::string, std::string>>& envs,
                                   bool tty) {
  std::vector<std::pair<std::string, std::string>> merged;
  auto set = [&](std::string key, std::string value) {
    for (auto& kv : merged)
      if (kv.first == key) {
        kv.second = std::move(value);
        return;
      }
    merged.emplace_back(std::move(key), std::move(value));
  };
  for (const auto& e : image_env) {
    auto eq = e.find('=');
    if (eq == std::string::npos) set(e, "");
    else set(e.substr(0, eq), e.substr(eq + 1));
  }
  if (!hostname.empty()) set("HOSTNAME", hostname);
  for (const auto& [k, v] : envs) set(k, v);
  auto has = [&](const char* key) {
    return std::any_of(merged.begin(), merged.end(), [&](const auto& kv) { return kv.first == key; });
  };
  if (!has("PATH")) merged.insert(merged.begin(), {"PATH", kDefaultPath});
  if (tty && !has("TERM")) merged.emplace_back("TERM", "xterm");
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

SpecBuilder::SpecBuilder(const SpecInputs& inputs) : in_(inputs), spec_(json::object()) {}

Status SpecBuilder::set_root() {
  if (in_.context.rootfs_path.empty())
    return make_error(ErrorKind::kInvalidArgument, "no rootfs path");
  // Kubernetes: only a privileged pod may hold privileged containers.
  if (privileged() && !in_.sandbox.privileged)
    return make_error(ErrorKind::kInvalidArgument,
                      "container {} is privileged but its pod {} is not", in_.request.name,
                      in_.sandbox.name);
  spec_["ociVersion"] = kOciVersion;
  spec_["root"] = {{"path", in_.context.rootfs_path},
                   {"readonly", in_.request.security.readonly_rootfs}};
  spec_["linux"]["rootfsPropagation"] = "rprivate";
  return Ok();
}

Status SpecBuilder::set_process() {
  const auto& req = in_.request;
  CRID_ASSIGN(auto args, merge_command(req.command, req.args, in_.image.entrypoint, in_.image.cmd));
  json& p = spec_["process"];
  p["args"] = std::move(args);
  p["env"] = merge_env(in_.image.env, in_.sandbox.hostname, req.envs, req.tty);
  std::string cwd = "/";
  if (!req.working_dir.empty()) {
    if (req.working_dir.front() != '/')
      return make_error(ErrorKind::kInvalidArgument, "working directory \"{}\" is not absolute",
                        req.working_dir);
    cwd = req.working_dir;
  } else if (!in_.image.working_dir.empty()) {
    // Image builders take a relative WORKDIR from "/"; so does crid.
    cwd = in_.image.working_dir.front() == '/' ? in_.image.working_dir
                                               : "/" + in_.image.working_dir;
  }
  p["cwd"] = cwd;
  p["terminal"] = req.tty;
  json nofile = {{"type", "RLIMIT_NOFILE"},
                 {"hard", in_.context.rlimit_nofile},
                 {"soft", in_.context.rlimit_nofile}};
  p["rlimits"] = json::array({nofile});
  p["noNewPrivileges"] = req.security.no_new_privs;

  // A daemon that may not lower its own OOM score (no CAP_SYS_RESOURCE)
  // cannot give a child a lower one either: the runtime would fail.
  int64_t oom = req.resources.oom_score_adj;
  if (in_.context.restrict_oom_score_adj && oom < in_.context.daemon_oom_score_adj)
    oom = in_.context.daemon_oom_score_adj;
  if (oom < -1000 || oom > 1000)
    return make_error(ErrorKind::kInvalidArgument, "oom_score_adj {} is outside [-1000, 1000]",
                      oom);
  p["oomScoreAdj"] = oom;
  return Ok();
}

Status SpecBuilder::set_user() {
  const auto& sec = in_.request.security;
  UserRequest ur{sec.run_as_user, sec.run_as_group, sec.run_as_username, in_.image.user,
                 sec.supplemental_groups};
  CRID_ASSIGN(ResolvedUser user, resolve_user(ur, in_.passwd, in_.group));
  json& u = spec_["process"]["user"];
  u["uid"] = user.uid;
  u["gid"] = user.gid;
  if (!user.additional_gids.empty()) u["additionalGids"] = user.additional_gids;
  return Ok();
}

Status SpecBuilder::add_default_mounts() {
  json& mounts = spec_["mounts"];
  if (!mounts.is_array()) mounts = json::array();
  bool priv = privileged();
  mounts.push_back(mount_entry("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount_entry("/dev", "tmpfs", "tmpfs",
                               {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount_entry("/dev/pts", "devpts", "devpts",
                               {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                "gid=5"}));
  if (shm_source().empty())
    mounts.push_back(mount_entry("/dev/shm", "tmpfs", "shm",
                                 {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount_entry("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  std::vector<std::string> sys_opts{"nosuid", "noexec", "nodev", priv ? "rw" : "ro"};
  mounts.push_back(mount_entry("/sys", "sysfs", "sysfs", sys_opts));
  std::vector<std::string> cg_opts{"nosuid", "noexec", "nodev", "relatime", priv ? "rw" : "ro"};
  mounts.push_back(mount_entry("/sys/fs/cgroup", "cgroup", "cgroup", cg_opts));
  return Ok();
}

std::string SpecBuilder::shm_source() const {
  // A container in the node's IPC namespace shares the node's /dev/shm too
  // (POSIX shared memory lives there), as containerd and CRI-O do.
  NamespaceMode ipc = in_.request.security.namespace_options.ipc;
  if (ipc == NamespaceMode::kNode || (ipc == NamespaceMode::kPod && in_.sandbox.host_ipc))
    return "/dev/shm";
  if (ipc == NamespaceMode::kContainer) return "";
  return in_.sandbox.shm_path;
}

bool SpecBuilder::mount_requested_at(const std::string& destination) const {
  for (const auto& m : in_.request.mounts)
    if (clean_path(m.container_path) == destination) return true;
  for (const auto& v : in_.image_volumes)
    if (clean_path(v.container_path) == destination) return true;
  return false;
}

Status SpecBuilder::add_pod_mounts() {
  json& mounts = spec_["mounts"];
  if (!mounts.is_array()) mounts = json::array();
  // The pod's files follow the container's read-only rootfs (as containerd).
  bool ro = in_.request.security.readonly_rootfs;
  const std::pair<const char*, const std::string*> files[] = {
      {"/etc/hosts", &in_.sandbox.hosts_path},
      {"/etc/resolv.conf", &in_.sandbox.resolv_conf_path},
      {"/etc/hostname", &in_.sandbox.hostname_path},
  };
  for (const auto& [dest, source] : files)
    if (!source->empty() && !mount_requested_at(dest))
      mounts.push_back(bind_mount(dest, *source, ro));
  if (std::string shm = shm_source(); !shm.empty() && !mount_requested_at("/dev/shm"))
    mounts.push_back(bind_mount("/dev/shm", shm, false));
  return Ok();
}

Status SpecBuilder::add_cri_mounts() {
  json& mounts = spec_["mounts"];
  if (!mounts.is_array()) mounts = json::array();
  const std::string& name = in_.request.name;
  std::vector<std::string> claimed;
  std::string rootfs_propagation = "rprivate";

  std::vector<json> requested;
  for (const auto& m : in_.request.mounts) {
    if (m.container_path.empty() || m.container_path.front() != '/')
      return make_error(ErrorKind::kInvalidArgument,
                        "mount \"{}\" of container {}: container path must be absolute",
                        m.container_path, name);
    if (m.host_path.empty())
      return make_error(ErrorKind::kInvalidArgument,
                        "mount {} of container {}: empty host path", m.container_path, name);
    if (m.recursive_read_only && !m.readonly)
      return make_error(ErrorKind::kInvalidArgument,
                        "mount {} of container {}: recursive read-only needs readonly",
                        m.container_path, name);
    if (m.recursive_read_only && m.propagation != MountPropagation::kPrivate)
      return make_error(ErrorKind::kInvalidArgument,
                        "mount {} of container {}: recursive read-only needs private propagation",
                        m.container_path, name);
    std::string dest = clean_path(m.container_path);
    json entry = bind_mount(dest, m.host_path, m.readonly, propagation_option(m.propagation));
    if (m.recursive_read_only) entry["options"].push_back("rro");
    // A shared or slave mount needs a rootfs that propagates the same way.
    if (m.propagation == MountPropagation::kBidirectional) rootfs_propagation = "rshared";
    else if (m.propagation == MountPropagation::kHostToContainer && rootfs_propagation != "rshared")
      rootfs_propagation = "rslave";
    claimed.push_back(dest);
    requested.push_back(std::move(entry));
  }
  for (const auto& v : in_.image_volumes) {
    if (v.container_path.empty() || v.container_path.front() != '/' || v.host_dir.empty())
      return make_error(ErrorKind::kInvalidArgument,
                        "image volume \"{}\" of container {} needs an absolute path and a host "
                        "directory",
                        v.container_path, name);
    std::string dest = clean_path(v.container_path);
    if (std::find(claimed.begin(), claimed.end(), dest) != claimed.end()) continue;
    claimed.push_back(dest);
    requested.push_back(bind_mount(dest, v.host_dir, false));
  }

  // A request mount replaces a default one at the same place; then parents
  // go before children so nothing mounted earlier is hidden by a later parent.
  json ordered = json::array();
  for (auto& m : mounts) {
    std::string dest = m["destination"];
    if (std::find(claimed.begin(), claimed.end(), dest) == claimed.end())
      ordered.push_back(std::move(m));
  }
  for (auto& m : requested) ordered.push_back(std::move(m));
  std::stable_sort(ordered.begin(), ordered.end(), [](const json& a, const json& b) {
    return path_depth(a["destination"]) < path_depth(b["destination"]);
  });
  mounts = std::move(ordered);
  spec_["linux"]["rootfsPropagation"] = rootfs_propagation;
  return Ok();
}

Status SpecBuilder::set_namespaces() {
  const auto& opts = in_.request.security.namespace_options;
  const auto& sb = in_.sandbox;
  json list = json::array();

  switch (opts.pid) {
    case NamespaceMode::kPod: add_namespace(list, "pid", sb.infra_pid_ns_path); break;
    case NamespaceMode::kContainer: add_namespace(list, "pid"); break;
    case NamespaceMode::kNode: break;
    case NamespaceMode::kTarget:
      if (in_.target_pid_ns_path.empty())
        return make_error(ErrorKind::kInvalidArgument,
                          "pid namespace TARGET of container {}: target container \"{}\" has no "
                          "pid namespace path",
                          in_.request.name, opts.target_id);
      add_namespace(list, "pid", in_.target_pid_ns_path);
      break;
  }

  bool host_net = false;
  switch (opts.network) {
    case NamespaceMode::kPod:
      host_net = sb.host_network;
      if (!host_net) add_namespace(list, "network", sb.network_ns_path);
      break;
    case NamespaceMode::kContainer: add_namespace(list, "network"); break;
    case NamespaceMode::kNode: host_net = true; break;
    case NamespaceMode::kTarget:
      return make_error(ErrorKind::kInvalidArgument,
                        "network namespace mode {} is not valid for container {}",
                        mode_name(opts.network), in_.request.name);
  }

  switch (opts.ipc) {
    case NamespaceMode::kPod:
      if (!sb.host_ipc) add_namespace(list, "ipc", sb.ipc_ns_path);
      break;
    case NamespaceMode::kContainer: add_namespace(list, "ipc"); break;
    case NamespaceMode::kNode: break;
    case NamespaceMode::kTarget:
      return make_error(ErrorKind::kInvalidArgument,
                        "ipc namespace mode {} is not valid for container {}",
                        mode_name(opts.ipc), in_.request.name);
  }

  // UTS follows the network: a host-network pod sees the node's hostname.
  if (!host_net) {
    add_namespace(list, "uts", opts.network == NamespaceMode::kPod ? sb.uts_ns_path : "");
    if (!sb.hostname.empty()) spec_["hostname"] = sb.hostname;
  }
  add_namespace(list, "mount");
  // On cgroup v2 a cgroup namespace hides the host hierarchy; privileged
  // containers keep the host view (as containerd and CRI-O do).
  if (in_.context.unified_cgroups && !privileged()) add_namespace(list, "cgroup");
  spec_["linux"]["namespaces"] = std::move(list);
  return Ok();
}

Status SpecBuilder::set_capabilities() {
  const auto& sec = in_.request.security;
  const std::vector<std::string>& all =
      in_.context.bounding_set.empty() ? all_capability_names() : in_.context.bounding_set;
  std::vector<std::string> caps;
  if (privileged()) {
    caps = all;
  } else {
    CRID_ASSIGN(caps, apply_capability_changes(default_capabilities(), all, sec.add_capabilities,
                                               sec.drop_capabilities));
  }
  std::vector<std::string> ambient;
  for (const auto& name : sec.add_ambient_capabilities) {
    CRID_ASSIGN(std::string cap, normalize_capability(name));
    ambient.push_back(cap);
    // The kernel keeps an ambient capability only while it is permitted.
    if (std::find(caps.begin(), caps.end(), cap) == caps.end()) caps.push_back(cap);
  }
  json c = json::object();
  c["bounding"] = caps;
  c["effective"] = caps;
  c["permitted"] = caps;
  if (!ambient.empty()) {
    c["inheritable"] = ambient;
    c["ambient"] = ambient;
  }
  spec_["process"]["capabilities"] = std::move(c);
  capabilities_ = std::move(caps);
  return Ok();
}

Status SpecBuilder::set_security_paths() {
  const auto& sec = in_.request.security;
  spec_["root"]["readonly"] = sec.readonly_rootfs;
  if (privileged()) return Ok();  // a privileged container sees all of /proc and /sys
  const auto& masked = sec.masked_paths ? *sec.masked_paths : default_masked_paths();
  const auto& readonly = sec.readonly_paths ? *sec.readonly_paths : default_readonly_paths();
  if (!masked.empty()) spec_["linux"]["maskedPaths"] = masked;
  if (!readonly.empty()) spec_["linux"]["readonlyPaths"] = readonly;
  return Ok();
}

Status SpecBuilder::set_lsm() {
  const auto& sec = in_.request.security;
  const std::string& name = in_.request.name;
  if (sec.apparmor && sec.apparmor->type != SecurityProfile::Type::kUnconfined) {
    if (!in_.context.apparmor_available)
      return make_error(ErrorKind::kFailedPrecondition,
                        "container {} asks for an AppArmor profile but AppArmor is not available "
                        "on this host",
                        name);
    if (sec.apparmor->type == SecurityProfile::Type::kLocalhost) {
      std::string profile = sec.apparmor->localhost_ref;
      if (profile.rfind("localhost/", 0) == 0) profile.erase(0, 10);
      if (profile.empty())
        return make_error(ErrorKind::kInvalidArgument,
                          "container {}: AppArmor Localhost profile without a name", name);
      spec_["process"]["apparmorProfile"] = profile;
    } else if (!privileged()) {
      spec_["process"]["apparmorProfile"] = in_.context.apparmor_default_profile;
    }
  }
  if (!sec.selinux.empty()) {
    if (!in_.context.selinux_available)
      return make_error(ErrorKind::kFailedPrecondition,
                        "container {} asks for SELinux options but SELinux is not available on "
                        "this host",
                        name);
    auto part = [](const std::string& v, const char* dflt) { return v.empty() ? dflt : v; };
    std::string level = part(sec.selinux.level, "s0");
    spec_["process"]["selinuxLabel"] =
        fmt::format("{}:{}:{}:{}", part(sec.selinux.user, "system_u"),
                    part(sec.selinux.role, "system_r"), part(sec.selinux.type, "container_t"),
                    level);
    spec_["linux"]["mountLabel"] = fmt::format("system_u:object_r:container_file_t:{}", level);
  }
  return Ok();
}

Status SpecBuilder::set_seccomp() {
  const auto& sec = in_.request.security;
  const std::string& name = in_.request.name;
  if (!sec.seccomp) return Ok();  // CRI: no profile means unconfined
  const SecurityProfile& sp = *sec.seccomp;
  if (sp.type != SecurityProfile::Type::kLocalhost && !sp.localhost_ref.empty())
    return make_error(ErrorKind::kInvalidArgument,
                      "container {}: seccomp localhost_ref is set but the profile type is not "
                      "Localhost",
                      name);
  if (privileged()) return Ok();  // privileged containers run without seccomp
  switch (sp.type) {
    case SecurityProfile::Type::kUnconfined: return Ok();
    case SecurityProfile::Type::kRuntimeDefault:
      spec_["linux"]["seccomp"] = default_seccomp_profile(capabilities_);
      return Ok();
    case SecurityProfile::Type::kLocalhost: {
      if (sp.localhost_ref.empty())
        return make_error(ErrorKind::kInvalidArgument,
                          "container {}: seccomp Localhost profile without a path", name);
      if (!in_.localhost_seccomp_profile)
        return make_error(ErrorKind::kFailedPrecondition,
                          "container {}: seccomp profile {} was not loaded", name,
                          sp.localhost_ref);
      CRID_TRY(validate_seccomp_profile(*in_.localhost_seccomp_profile, sp.localhost_ref));
      spec_["linux"]["seccomp"] = *in_.localhost_seccomp_profile;
      return Ok();
    }
  }
  return Ok();
}

Status SpecBuilder::set_resources() {
  const auto& r = in_.request.resources;
  json& res = spec_["linux"]["resources"];
  if (!res.is_object()) res = json::object();
  if (r.cpu_shares > 0) res["cpu"]["shares"] = r.cpu_shares;
  if (r.cpu_quota != 0) res["cpu"]["quota"] = r.cpu_quota;
  if (r.cpu_period > 0) res["cpu"]["period"] = r.cpu_period;
  if (!r.cpuset_cpus.empty()) res["cpu"]["cpus"] = r.cpuset_cpus;
  if (!r.cpuset_mems.empty()) res["cpu"]["mems"] = r.cpuset_mems;
  if (r.memory_limit_in_bytes < 0 || r.memory_swap_limit_in_bytes < -1)
    return make_error(ErrorKind::kInvalidArgument, "container {}: negative memory limit",
                      in_.request.name);
  if (r.memory_limit_in_bytes > 0) {
    res["memory"]["limit"] = r.memory_limit_in_bytes;
    // As containerd: an unset swap limit equals the memory limit, so the
    // container cannot swap unless the kubelet says so.
    if (r.memory_swap_limit_in_bytes == 0) res["memory"]["swap"] = r.memory_limit_in_bytes;
  }
  if (r.memory_swap_limit_in_bytes != 0) {
    if (r.memory_limit_in_bytes > 0 && r.memory_swap_limit_in_bytes > 0 &&
        r.memory_swap_limit_in_bytes < r.memory_limit_in_bytes)
      return make_error(ErrorKind::kInvalidArgument,
                        "container {}: memory+swap limit {} is below the memory limit {}",
                        in_.request.name, r.memory_swap_limit_in_bytes, r.memory_limit_in_bytes);
    res["memory"]["swap"] = r.memory_swap_limit_in_bytes;
  }
  if (!r.hugepage_limits.empty()) {
    json hp = json::array();
    for (const auto& h : r.hugepage_limits) hp.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    res["hugepageLimits"] = std::move(hp);
  }
  if (in_.context.pids_limit > 0) res["pids"]["limit"] = in_.context.pids_limit;
  if (!r.unified.empty()) res["unified"] = r.unified;

  const std::string& id = in_.context.container_id;
  const std::string& parent = in_.sandbox.cgroup_parent;
  if (in_.context.cgroup_driver == CgroupDriver::kSystemd) {
    std::string slice = parent.empty() ? "system.slice" : parent;
    if (slice.find('/') != std::string::npos || slice.size() < 7 ||
        slice.compare(slice.size() - 6, 6, ".slice") != 0)
      return make_error(ErrorKind::kInvalidArgument,
                        "cgroup parent \"{}\" is not a systemd slice (the systemd cgroup driver "
                        "needs a name like kubepods.slice)",
                        parent);
    spec_["linux"]["cgroupsPath"] = fmt::format("{}:crid:{}", slice, id);
  } else {
    std::string base = parent;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (!base.empty() && base.front() != '/') base = "/" + base;
    spec_["linux"]["cgroupsPath"] = fmt::format("{}/crid-{}", base, id);
  }
  if (!in_.sandbox.sysctls.empty()) spec_["linux"]["sysctl"] = in_.sandbox.sysctls;
  return Ok();
}

Status SpecBuilder::set_devices() {
  const auto& req = in_.request;
  if (in_.request_devices.size() != req.devices.size())
    return make_error(ErrorKind::kInternal,
                      "container {}: {} devices requested but {} resolved", req.name,
                      req.devices.size(), in_.request_devices.size());
  json devices = json::array();
  json rules = json::array();
  std::vector<std::string> paths;
  if (privileged()) {
    for (const auto& d : in_.host_devices) {
      devices.push_back(device_entry(d));
      paths.push_back(d.path);
    }
    rules.push_back(device_rule(true, "", std::nullopt, std::nullopt, "rwm"));
  } else {
    rules = default_device_rules();
  }
  for (size_t i = 0; i < req.devices.size(); ++i) {
    const Device& want = req.devices[i];
    const DeviceNode& node = in_.request_devices[i];
    const std::string& perms = want.permissions;
    if (perms.empty() || perms.find_first_not_of("rwm") != std::string::npos)
      return make_error(ErrorKind::kInvalidArgument,
                        "device {} of container {}: permissions \"{}\" are not a subset of rwm",
                        want.host_path, req.name, perms);
    if (want.container_path.empty() || want.container_path.front() != '/')
      return make_error(ErrorKind::kInvalidArgument,
                        "device {} of container {}: container path \"{}\" is not absolute",
                        want.host_path, req.name, want.container_path);
    DeviceNode placed = node;
    placed.path = want.container_path;
    if (std::find(paths.begin(), paths.end(), placed.path) == paths.end()) {
      devices.push_back(device_entry(placed));
      paths.push_back(placed.path);
    }
    if (!privileged())
      rules.push_back(device_rule(true, std::string(1, node.type), node.major, node.minor, perms));
  }
  if (!devices.empty()) spec_["linux"]["devices"] = std::move(devices);
  spec_["linux"]["resources"]["devices"] = std::move(rules);
  return Ok();
}

Status SpecBuilder::set_annotations() {
  json a = json::object();
  for (const auto& [k, v] : in_.request.annotations) a[k] = v;
  // crid's own keys come last so a request cannot spoof them.
  a["io.kubernetes.cri.container-type"] = "container";
  a["io.kubernetes.cri.container-name"] = in_.request.name;
  a["io.kubernetes.cri.sandbox-id"] = in_.sandbox.id;
  a["io.kubernetes.cri.sandbox-name"] = in_.sandbox.name;
  a["io.kubernetes.cri.sandbox-namespace"] = in_.sandbox.namespace_;
  a["io.kubernetes.cri.sandbox-uid"] = in_.sandbox.uid;
  a["io.kubernetes.cri.image-name"] = in_.request.image_ref;
  spec_["annotations"] = std::move(a);
  return Ok();
}

Result<nlohmann::json> build_spec(const SpecInputs& inputs) {
  SpecBuilder b(inputs);
  const std::string ctx = fmt::format("building the OCI spec of container {} ({})",
                                      inputs.request.name, inputs.context.container_id);
  CRID_TRY_CTX(b.set_root(), "{}", ctx);
  CRID_TRY_CTX(b.set_process(), "{}", ctx);
  CRID_TRY_CTX(b.set_user(), "{}", ctx);
  CRID_TRY_CTX(b.add_default_mounts(), "{}", ctx);
  CRID_TRY_CTX(b.add_pod_mounts(), "{}", ctx);
  CRID_TRY_CTX(b.add_cri_mounts(), "{}", ctx);
  CRID_TRY_CTX(b.set_namespaces(), "{}", ctx);
  CRID_TRY_CTX(b.set_capabilities(), "{}", ctx);
  CRID_TRY_CTX(b.set_security_paths(), "{}", ctx);
  CRID_TRY_CTX(b.set_lsm(), "{}", ctx);
  CRID_TRY_CTX(b.set_seccomp(), "{}", ctx);
  CRID_TRY_CTX(b.set_resources(), "{}", ctx);
  CRID_TRY_CTX(b.set_devices(), "{}", ctx);
  CRID_TRY_CTX(b.set_annotations(), "{}", ctx);
  return b.take();
}

Status validate_mount_sources(const ContainerRequest& request, const PathExists& exists) {
  for (const auto& m : request.mounts)
    if (!exists(m.host_path))
      return make_error(ErrorKind::kNotFound,
                        "mount {} of container {}: host path {} does not exist", m.container_path,
                        request.name, m.host_path);
  return Ok();
}

Status validate_mount_sources(const ContainerRequest& request) {
  return validate_mount_sources(request, [](const std::string& p) { return fs::exists(p); });
}

}  // namespace crid::oci
