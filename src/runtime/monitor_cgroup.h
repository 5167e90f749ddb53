// A cgroup of its own for each container monitor (cgroupfs driver), so the
// monitor is accounted to the pod and is not caught by whatever acts on the
// daemon's cgroup (a service manager stopping crid must not take the
// monitors with it: containers outlive daemon restarts).
#pragma once

#include <sys/types.h>

#include <string>

#include "util/result.h"

namespace crid::runtime {

// Creates `rel_path` (e.g. "/kubepods/pod1/crid-conmon-<id>") in every
// mounted cgroup hierarchy and moves `pid` into it. cpuset (v1) is skipped:
// a fresh v1 cpuset cgroup has no cpus until configured, and the monitor
// needs no pinning.
Status place_in_cgroup(const std::string& rel_path, pid_t pid);

// Removes `rel_path` from every hierarchy; it must hold no process.
// Missing directories are fine.
Status remove_cgroup(const std::string& rel_path);

// True if `rel_path` exists in any hierarchy (tests, leak checks).
bool cgroup_exists(const std::string& rel_path);

}  // namespace crid::runtime
