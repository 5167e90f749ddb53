#include "container/types.h"

namespace crid::container {

const char* to_string(ContainerState s) {
  switch (s) {
    case ContainerState::kCreated: return "created";
    case ContainerState::kRunning: return "running";
    case ContainerState::kExited: return "exited";
    case ContainerState::kUnknown: break;
  }
  return "unknown";
}

bool matches(const ContainerRecord& r, const ContainerFilter& f) {
  if (!f.id_prefix.empty() && r.id.compare(0, f.id_prefix.size(), f.id_prefix) != 0) return false;
  if (!f.pod_id_prefix.empty() && r.pod_id.compare(0, f.pod_id_prefix.size(), f.pod_id_prefix) != 0)
    return false;
  if (f.state && r.state != *f.state) return false;
  for (const auto& [k, v] : f.labels) {
    auto it = r.labels.find(k);
    if (it == r.labels.end() || it->second != v) return false;
  }
  return true;
}

std::string exit_reason(int code, bool oom_killed) {
  if (oom_killed) return "OOMKilled";
  return code == 0 ? "Completed" : "Error";
}

}  // namespace crid::container
