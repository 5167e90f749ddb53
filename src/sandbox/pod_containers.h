// The hook through which the sandbox lifecycle reaches a pod's containers
// without depending on the container layer (which sits beside it, not
// below). StopPodSandbox calls stop_all before tearing down the network and
// namespaces the containers live in; RemovePodSandbox calls remove_all
// before deleting the pod's files. The container layer implements this and
// hands it to SandboxManager::set_containers(); until then NoPodContainers
// (nothing to stop) is used.
#pragma once

#include <chrono>
#include <string>

#include "util/result.h"

namespace crid::sandbox {

class PodContainers {
 public:
  virtual ~PodContainers() = default;
  // Stops every container of the pod, waiting `grace` for each before SIGKILL.
  // Idempotent: already stopped containers are fine.
  virtual Status stop_all(const std::string& pod_id, std::chrono::milliseconds grace) = 0;
  // Removes every (stopped) container of the pod. Idempotent.
  virtual Status remove_all(const std::string& pod_id) = 0;
};

class NoPodContainers final : public PodContainers {
 public:
  Status stop_all(const std::string&, std::chrono::milliseconds) override { return Ok(); }
  Status remove_all(const std::string&) override { return Ok(); }
};

}  // namespace crid::sandbox
