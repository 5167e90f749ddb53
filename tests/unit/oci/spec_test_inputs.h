// Shared fixtures for the spec builder tests: a plausible pod, image and
// daemon context that each test changes in the one place it is about.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/container_request.h"
#include "oci/spec_builder.h"

namespace crid::oci::testing {

inline SpecInputs basic_inputs() {
  SpecInputs in;
  in.request.name = "web";
  in.request.image_ref = "docker.io/library/busybox:latest";
  in.request.command = {"/bin/sh"};
  in.request.args = {"-c", "sleep 1"};
  in.sandbox.id = "pod0123";
  in.sandbox.name = "web-pod";
  in.sandbox.namespace_ = "default";
  in.sandbox.uid = "uid-1";
  in.sandbox.hostname = "web-pod";
  in.sandbox.network_ns_path = "/run/crid/pods/pod0123/ns/net";
  in.sandbox.ipc_ns_path = "/run/crid/pods/pod0123/ns/ipc";
  in.sandbox.uts_ns_path = "/run/crid/pods/pod0123/ns/uts";
  in.sandbox.hosts_path = "/run/crid/pods/pod0123/hosts";
  in.sandbox.resolv_conf_path = "/run/crid/pods/pod0123/resolv.conf";
  in.sandbox.hostname_path = "/run/crid/pods/pod0123/hostname";
  in.sandbox.shm_path = "/run/crid/pods/pod0123/shm";
  in.sandbox.cgroup_parent = "/kubepods/besteffort/pod-uid-1";
  in.image.env = {"PATH=/usr/bin:/bin"};
  in.context.rootfs_path = "/var/lib/crid/containers/ctr1/rootfs";
  in.context.container_id = "ctr1";
  in.context.runtime_handler = "runc";
  in.context.bounding_set = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                             "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
                             "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW",
                             "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_BOOT", "CAP_MKNOD"};
  in.passwd = "root:x:0:0:root:/root:/bin/sh\n";
  in.group = "root:x:0:\n";
  return in;
}

inline nlohmann::json build_or_die(const SpecInputs& in) {
  auto r = build_spec(in);
  if (!r) throw std::runtime_error(r.error().message());
  return *r;
}

inline const nlohmann::json* find_mount(const nlohmann::json& spec, const std::string& dest) {
  for (const auto& m : spec["mounts"])
    if (m["destination"] == dest) return &m;
  return nullptr;
}

inline int count_mounts(const nlohmann::json& spec, const std::string& dest) {
  int n = 0;
  for (const auto& m : spec["mounts"])
    if (m["destination"] == dest) ++n;
  return n;
}

inline bool has_option(const nlohmann::json& mount, const std::string& opt) {
  const auto& o = mount["options"];
  return std::find(o.begin(), o.end(), opt) != o.end();
}

inline std::vector<std::string> strings(const nlohmann::json& j) {
  return j.get<std::vector<std::string>>();
}

}  // namespace crid::oci::testing
