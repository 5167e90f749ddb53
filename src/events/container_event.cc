#include "events/container_event.h"

namespace crid::events {

const char* to_string(ContainerEventType t) {
  switch (t) {
    case ContainerEventType::kCreated: return "CREATED";
    case ContainerEventType::kStarted: return "STARTED";
    case ContainerEventType::kStopped: return "STOPPED";
    case ContainerEventType::kDeleted: return "DELETED";
  }
  return "UNKNOWN";
}

}  // namespace crid::events
