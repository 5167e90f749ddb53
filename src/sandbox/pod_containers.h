// The hook through which the sandbox lifecycle reaches a pod's containers
// without depending on the container layer (which sits beside it, not
// below). StopPodSandbox calls stop_all before tearing down the network and
// namespaces the containers live in; RemovePodSandbox calls remove_all
// before deleting the pod's files; pod_event lets the container layer publish
// the pod's own lifecycle events with its containers' statuses attached.
// The container layer implements this and
// hands it to SandboxManager::set_containers(); until then NoPodContainers
// (nothing to stop) is used.
#pragma once

#include <chrono>
#include <string>

#include "events/container_event.h"
#include "sandbox/types.h"
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
  // The pod itself was created, started (ready), stopped or deleted: an
  // event whose container id is the pod's id, as the kubelet's evented PLEG
  // expects for the sandbox (on DELETED it drops the pod from its cache).
  // `pod` is its status at that moment (the last one for DELETED).
  virtual void pod_event(events::ContainerEventType type, const Pod& pod) = 0;
};

class NoPodContainers final : public PodContainers {
 public:
  Status stop_all(const std::string&, std::chrono::milliseconds) override { return Ok(); }
  Status remove_all(const std::string&) override { return Ok(); }
  void pod_event(events::ContainerEventType, const Pod&) override {}
};

}  // namespace crid::sandbox
