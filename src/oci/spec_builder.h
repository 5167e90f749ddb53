// OCI runtime-spec config.json for a CRI container, built from the request,
// its pod, the image config and what the daemon knows. Pure: the caller
// gathers every file, device and profile first, so the builder is tested
// without root. What CreateContainer does before build_spec():
//   validate_mount_sources(request)                      (this file)
//   read_rootfs_file(rootfs, "etc/passwd" / "etc/group")  user_resolver.h
//   resolve_request_devices(request.devices)             devices.h
//   list_host_devices() when privileged                  devices.h
//   load_localhost_seccomp_profile(root, ref) if Localhost seccomp_localhost.h
//   read_bounding_set(), nofile_limit_for_containers()   once per daemon
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/container_request.h"
#include "util/result.h"

namespace crid::oci {

// The masked and read-only /proc and /sys paths of an unprivileged container
// when the request does not name its own (the kubelet's and containerd's).
const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

// Kubernetes' rule for command and args against the image's Entrypoint and
// Cmd: a command replaces the entrypoint and drops the image's cmd; args
// replace the cmd. An empty result is InvalidArgument "no command specified".
Result<std::vector<std::string>> merge_command(const std::vector<std::string>& command,
                                               const std::vector<std::string>& args,
                                               const std::vector<std::string>& entrypoint,
                                               const std::vector<std::string>& cmd);

// Image env, then `hostname` as HOSTNAME, then the request's envs: a later
// value of a key replaces an earlier one in place, so first-seen order is
// kept. PATH gets the usual default when nobody set it.
std::vector<std::string> merge_env(const std::vector<std::string>& image_env,
                                   const std::string& hostname,
                                   const std::vector<std::pair<std::string, std::string>>& envs,
                                   bool tty);

// Fills a spec step by step; each setter reads the inputs and writes its own
// part of the spec. build_spec() runs them in order; the order matters only
// in that set_capabilities precedes set_seccomp (the default seccomp profile
// opens syscalls by capability).
class SpecBuilder {
 public:
  explicit SpecBuilder(const SpecInputs& inputs);

  Status set_root();          // ociVersion, root, rootfs propagation default
  Status set_process();       // args, env, cwd, terminal, rlimits, oom score
  Status set_user();          // uid, gid, additional gids
  Status add_default_mounts();  // /proc, /dev, /dev/pts, /dev/shm, /sys ...
  Status add_pod_mounts();    // hosts, resolv.conf, hostname, shm
  Status add_cri_mounts();    // request mounts and image volumes, then order
  Status set_namespaces();    // and hostname
  Status set_capabilities();
  Status set_security_paths();  // masked/readonly paths, readonly rootfs
  Status set_lsm();           // AppArmor and SELinux
  Status set_seccomp();
  Status set_resources();     // cgroup limits and cgroupsPath
  Status set_devices();
  Status set_annotations();

  const nlohmann::json& spec() const { return spec_; }
  nlohmann::json take() { return std::move(spec_); }

 private:
  bool privileged() const { return in_.request.security.privileged; }
  bool mount_requested_at(const std::string& destination) const;
  std::string shm_source() const;  // "" for a private tmpfs

  const SpecInputs& in_;
  nlohmann::json spec_;
  std::vector<std::string> capabilities_;  // effective set, for seccomp
};

// The whole spec. Errors name the container.
Result<nlohmann::json> build_spec(const SpecInputs& inputs);

// The one check that needs the host's filesystem: every request mount's
// host path exists. `exists` is stat(2) in the daemon, a fake in tests.
using PathExists = std::function<bool(const std::string&)>;
Status validate_mount_sources(const ContainerRequest& request, const PathExists& exists);
Status validate_mount_sources(const ContainerRequest& request);

}  // namespace crid::oci
