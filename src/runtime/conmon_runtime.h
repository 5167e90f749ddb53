// ConmonRuntime: OciRuntime over runc-compatible runtimes (runc, crun), each
// container watched by its own conmon, as CRI-O runs them. conmon holds the
// container's stdio, writes the CRI log, serves the attach socket and the
// ctl/winsz fifos in the bundle, and records the exit code in the exit dir
// (and an "oom" marker) when the container ends; it outlives the daemon.
//
// Bundle layout (all in the bundle dir, next to the caller's config.json):
//   monitor.json    what this class needs to find the container again
//   pidfile         the container init's host pid (written by the runtime)
//   conmon-pidfile  conmon's pid
//   ctl, winsz      conmon's control fifos; attach  the attach socket
//   oom             created by conmon if the container hit its memory limit
//
// Choices:
// - The monitor's cgroup (cgroupfs): "<monitor_cgroup_parent>/crid-conmon-<id>"
//   in every hierarchy but cpuset, set up before conmon is told to go on
//   (it waits on the start pipe). CRI-O puts conmon under the pod cgroup the
//   same way ("pod" monitor cgroup); this accounts the monitor's memory to
//   the pod and keeps it out of the daemon's cgroup, so a service manager
//   stopping crid leaves the monitors (and containers) running.
// - exec_sync runs `<runtime> exec` directly (not conmon --exec): output is
//   captured in memory up to max_output with no log-file round trip, and on
//   timeout the exec'd process tree is killed through the runtime's pid
//   file. Interactive exec (exec()) is also a direct `<runtime> exec`, its
//   stdio wired by the caller, a terminal taken over a console socket
//   (runc detached under `crid exec-reaper`; exec_process.h); attach goes
//   through conmon's attach socket.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "runtime/oci_runtime.h"

namespace crid::runtime {

// conmon's attach socket (SOCK_SEQPACKET): bytes sent are the container's
// stdin; each packet received starts with one byte naming the stream.
constexpr char kAttachStdout = 2;
constexpr char kAttachStderr = 3;

// What is known of one container; persisted as <bundle>/monitor.json.
struct MonitorRecord {
  std::string id;
  std::string name;
  std::string pod_id;
  std::string bundle_dir;
  RuntimeHandler handler;
  std::string conmon_path;
  std::string log_path;
  std::string exit_dir;
  std::string persist_dir;
  std::string monitor_cgroup;  // cgroupfs path of conmon's cgroup, or empty
  bool tty = false;
  pid_t monitor_pid = -1;
  pid_t init_pid = -1;
};

class ConmonRuntime : public OciRuntime {
 public:
  ConmonRuntime() = default;

  Result<CreatedContainer> create(const CreateOptions& opts) override;
  Status start(const std::string& id) override;
  Result<ContainerState> state(const std::string& id) override;
  Status kill(const std::string& id, int signal, bool all = false) override;
  Status remove(const std::string& id) override;
  Result<ExecResult> exec_sync(const std::string& id, const ExecSyncOptions& opts) override;
  Result<std::unique_ptr<ExecProcess>> exec(const std::string& id,
                                            const ExecOptions& opts) override;
  Status update_resources(const std::string& id, const std::string& resources_json) override;
  Status reopen_log(const std::string& id) override;
  Result<std::optional<ExitInfo>> exit_status(const std::string& id) override;
  Result<std::string> attach_socket_path(const std::string& id) override;
  Status resize(const std::string& id, uint16_t width, uint16_t height) override;
  Result<RecoveredContainer> recover(const std::string& id, const std::string& bundle_dir) override;

  // True while conmon for `id` is running.
  bool monitor_alive(const std::string& id);
  // True if conmon saw container `id` hit its memory limit (for
  // ExitWatcher::set_oom_check).
  bool oom_killed(const std::string& id);

 private:
  Result<MonitorRecord> lookup(const std::string& id);
  // The record of a running container, for an exec into it.
  Result<MonitorRecord> lookup_running(const std::string& id);

  // Guards the maps only; runtime calls run unlocked. Serialising
  // operations on one container is the caller's job (per-object locks).
  std::mutex mu_;
  std::map<std::string, MonitorRecord> records_;
  std::set<std::string> creating_;  // ids with a create in flight
};

}  // namespace crid::runtime
