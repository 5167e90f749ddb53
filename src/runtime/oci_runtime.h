// runtime::OciRuntime: what the container lifecycle asks of a runtime
// backend. The first backend (ConmonRuntime) drives runc/crun through one
// conmon monitor per container, the way CRI-O does; a VM backend can slot in
// behind the same interface later without touching callers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "runtime/exec_process.h"
#include "util/result.h"

namespace crid::runtime {

using WallTime = std::chrono::system_clock::time_point;

struct CreateOptions {
  std::string id;    // container id (64 hex), also the runtime's id
  std::string name;  // human name, for the monitor's log lines
  std::string pod_id;
  std::string bundle_dir;  // holds config.json + rootfs, written by the caller
  RuntimeHandler handler;  // runtime binary, type, --root
  std::string conmon_path = "/usr/bin/conmon";
  std::string log_path;       // CRI log file (k8s-file format)
  int64_t log_size_max = -1;  // bytes; <= 0: unlimited
  bool tty = false;
  bool stdin = false;
  bool stdin_once = false;
  std::string exit_dir;     // <runroot>/exits: one file per container, named by id
  std::string persist_dir;  // survives the bundle: exit and oom markers
  // cgroupfs path under which the monitor gets its own cgroup
  // "<parent>/crid-conmon-<id>" (usually the pod's cgroup). Empty: the
  // monitor stays in the daemon's cgroup.
  std::string monitor_cgroup_parent;
  bool no_pivot = false;
  std::chrono::milliseconds timeout{std::chrono::minutes(4)};
};

struct CreatedContainer {
  pid_t init_pid = -1;     // the container's first process, as the host sees it
  pid_t monitor_pid = -1;  // conmon
};

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped, kUnknown };
const char* to_string(ContainerStatus s);

struct ContainerState {
  ContainerStatus status = ContainerStatus::kUnknown;
  pid_t pid = 0;  // 0 once stopped
};

struct ExecSyncOptions {
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env;  // unset: the container's
  std::optional<std::string> cwd;               // unset: the container's
  bool tty = false;
  std::chrono::milliseconds timeout{0};  // 0: none
  size_t max_output = 16 << 20;          // per stream
};

struct ExecResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;
  bool truncated = false;  // some output went past max_output and was dropped
};

struct ExitInfo {
  int code = -1;  // 128+signal when killed by a signal, -1 if unknown
  WallTime finished_at;
  bool oom_killed = false;
};

// What recover() learnt about a container from its bundle after a restart.
struct RecoveredContainer {
  pid_t init_pid = -1;
  pid_t monitor_pid = -1;
  bool monitor_alive = false;
  std::optional<ExitInfo> exit;
};

class OciRuntime {
 public:
  virtual ~OciRuntime() = default;

  // Creates the container (not started): the monitor is running and the
  // init process exists, stopped before the user's program.
  virtual Result<CreatedContainer> create(const CreateOptions& opts) = 0;
  virtual Status start(const std::string& id) = 0;
  virtual Result<ContainerState> state(const std::string& id) = 0;
  virtual Status kill(const std::string& id, int signal, bool all = false) = 0;
  // Force-deletes the container, stops its monitor if still there, removes
  // the bundle, exit marker and monitor cgroup. Unknown ids are a no-op.
  virtual Status remove(const std::string& id) = 0;
  virtual Result<ExecResult> exec_sync(const std::string& id, const ExecSyncOptions& opts) = 0;
  // Starts an interactive exec (kubectl exec) in the running container and
  // returns at once; the caller pumps its I/O and waits (exec_process.h).
  virtual Result<std::unique_ptr<ExecProcess>> exec(const std::string& id,
                                                    const ExecOptions& opts) = 0;
  // `resources_json` is an OCI LinuxResources object.
  virtual Status update_resources(const std::string& id, const std::string& resources_json) = 0;
  // Makes the monitor reopen the log file (after rotation by the caller).
  virtual Status reopen_log(const std::string& id) = 0;
  // Set once the container's main process has exited.
  virtual Result<std::optional<ExitInfo>> exit_status(const std::string& id) = 0;
  virtual Result<std::string> attach_socket_path(const std::string& id) = 0;
  virtual Status resize(const std::string& id, uint16_t width, uint16_t height) = 0;
  // Re-learns a container created by an earlier daemon from its bundle dir.
  virtual Result<RecoveredContainer> recover(const std::string& id,
                                             const std::string& bundle_dir) = 0;
};

}  // namespace crid::runtime
