// Everything RunPodSandbox checks and derives from a request before it
// touches the node: a pure function (apart from reading whether systemd
// runs), so the server's fuzz target can drive it with hostile requests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "sandbox/namespaces.h"
#include "sandbox/types.h"
#include "util/result.h"

namespace crid::sandbox {

struct PodRunPlan {
  std::string handler;        // the runtime handler, "" resolved to the default
  std::string cgroup_parent;  // effective, per the cgroup driver
  SysctlPlan sysctls;
  nlohmann::json bandwidth;   // CNI bandwidth capability args, or null
};

// InvalidArgument (naming the pod) for a request crid must refuse: empty
// name or namespace, ports out of range, TARGET namespaces, a log directory
// that is not an absolute path free of "..", an unknown handler, a bad
// cgroup parent, sysctls or DNS config.
Result<PodRunPlan> plan_pod_run(const Config& cfg, const PodConfig& config,
                                const std::string& runtime_handler);

}  // namespace crid::sandbox
