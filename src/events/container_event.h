// A container lifecycle event as the lifecycle publishes it: what happened
// to which container, and the pod and its containers as they were at that
// moment (what CRI's GetContainerEvents carries, so that the kubelet's
// evented PLEG can update its cache without asking back).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "container/types.h"
#include "sandbox/types.h"

namespace crid::events {

// CRI ContainerEventType, same numbers.
enum class ContainerEventType { kCreated = 0, kStarted = 1, kStopped = 2, kDeleted = 3 };
const char* to_string(ContainerEventType t);

struct ContainerEvent {
  ContainerEventType type = ContainerEventType::kCreated;
  std::string container_id;
  std::string pod_id;
  int64_t created_ns = 0;  // when the event happened (wall clock)
  // The pod at that moment; absent only if its record could not be read.
  std::optional<sandbox::Pod> pod;
  // Every container of the pod at that moment (a deleted one is gone).
  std::vector<container::ContainerRecord> containers;
};

}  // namespace crid::events
