// Domain types of the container lifecycle: what crid keeps about a
// container (ContainerRecord) and how listing filters them. No protobuf
// here; server/ translates.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "oci/container_request.h"

namespace crid::container {

// CRI ContainerState, same numbers.
enum class ContainerState { kCreated = 0, kRunning = 1, kExited = 2, kUnknown = 3 };
const char* to_string(ContainerState s);

// Who the container's process runs as, resolved at create time.
struct ContainerUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
};

struct ContainerRecord {
  std::string id;
  std::string pod_id;
  std::string name;
  uint32_t attempt = 0;
  ContainerState state = ContainerState::kCreated;
  int64_t created_ns = 0;
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  int32_t exit_code = 0;
  std::string reason;   // Completed, Error, OOMKilled once exited
  std::string message;
  std::string image_name;  // as the kubelet asked for it
  std::string image_id;    // "sha256:..." (config digest)
  std::string image_ref;   // repo digest when known, else the id
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string log_path;
  pid_t pid = 0;
  // Kept for status and updates (the "request" JSON column).
  std::string runtime_handler;
  int stop_signal = 15;
  std::vector<oci::Mount> mounts;
  oci::Resources resources;
  ContainerUser user;
  bool tty = false;
  // Whether the container's stdin is open for attach, and whether it is
  // closed after the first attach session ends (CRI stdin / stdin_once).
  bool stdin = false;
  bool stdin_once = false;
  bool privileged = false;
};

// ListContainers filter: every set field must match.
struct ContainerFilter {
  std::string id_prefix;
  std::string pod_id_prefix;
  std::optional<ContainerState> state;
  std::map<std::string, std::string> labels;
};

bool matches(const ContainerRecord& r, const ContainerFilter& f);

// CRI reason for an exit: OOMKilled, Completed (code 0) or Error.
std::string exit_reason(int code, bool oom_killed);

}  // namespace crid::container
