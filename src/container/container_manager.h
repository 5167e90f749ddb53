// ContainerManager: the container lifecycle (CreateContainer ... ExecSync)
// in domain types, over the pod sandboxes, the image store, the OCI spec
// builder and an OCI runtime backend.
//
// Locking is per container: `op` serializes lifecycle calls on one
// container (create/start/stop/remove/update), `mu` guards its record for
// the short moments it is read or changed. Runtime calls never hold a lock
// another container needs. Exits arrive from the runtime's exit watcher
// and are recorded under `mu` only, so a stop waiting for the exit while
// holding `op` is woken by them.
//
// Lifecycle events (CREATED, STARTED, STOPPED, DELETED) go to the event hub
// under the container's `events_mu`, taken before `mu` and never while
// `map_mu_` or another container's lock is held, so one container's events
// leave in lifecycle order and no RPC lock is held while they are built.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config_holder.h"
#include "container/container_store.h"
#include "container/host_path_resolver.h"
#include "container/writable_host_paths.h"
#include "container/rootfs.h"
#include "container/types.h"
#include "events/event_hub.h"
#include "image/image_service.h"
#include "oci/container_request.h"
#include "runtime/exit_watcher.h"
#include "runtime/oci_runtime.h"
#include "sandbox/pod_containers.h"
#include "sandbox/sandbox_manager.h"
#include "store/database.h"
#include "store/operation_journal.h"
#include "store/retry_answers.h"

namespace crid::container {

struct CreateRequest {
  std::string pod_id;
  oci::ContainerRequest request;
  int stop_signal = 0;  // 0: the image's StopSignal, else SIGTERM
};

struct ExecSyncResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Output ExecSync keeps per stream; more is dropped (probes read little).
// Both streams together must fit one gRPC response: crid and the kubelet
// both refuse messages over 16 MiB, so a larger cap turned a chatty command
// into a RESOURCE_EXHAUSTED error instead of truncated output.
constexpr size_t kExecSyncMaxOutput = 4 << 20;

class ContainerManager final : public sandbox::PodContainers {
 public:
  struct Deps {
    ConfigHolder& config;
    store::Database& db;
    sandbox::SandboxManager& pods;
    image::ImageService& images;
    runtime::OciRuntime& runtime;
    // Where lifecycle events go; none when null.
    events::EventHub* events = nullptr;
  };

  // Opens the table, recovers containers of an earlier daemon (their
  // exits included), starts the exit watcher on <runroot>/exits and
  // registers with the pods as their PodContainers.
  static Result<std::unique_ptr<ContainerManager>> open(Deps deps);
  ~ContainerManager() override;

  // `caller_gone` (may be empty) tells whether the caller stopped waiting:
  // the container is then kept for the kubelet's retry of the same name and
  // attempt, which gets its id; a retry arriving while the first create
  // still works waits for it.
  Result<std::string> create(const CreateRequest& req,
                             const std::function<bool()>& caller_gone = {});
  Status start(const std::string& id);
  // Sends the stop signal, waits `timeout`, then SIGKILL; returns once the
  // exit is recorded. Idempotent on exited containers.
  Status stop(const std::string& id, std::chrono::milliseconds timeout);
  // Idempotent: unknown ids are fine (CRI).
  Status remove(const std::string& id);
  // `info_json` (verbose) gets pid, the OCI spec, handler and pod id.
  Result<ContainerRecord> status(const std::string& id, std::string* info_json = nullptr);
  std::vector<ContainerRecord> list(const ContainerFilter& filter);
  Status update_resources(const std::string& id, const oci::Resources& resources);
  Status reopen_log(const std::string& id);
  // A timeout is DeadlineExceeded (the kubelet turns it into a probe timeout).
  Result<ExecSyncResult> exec_sync(const std::string& id, const std::vector<std::string>& cmd,
                                   std::chrono::milliseconds timeout);

  // sandbox::PodContainers
  Status stop_all(const std::string& pod_id, std::chrono::milliseconds grace) override;
  Status remove_all(const std::string& pod_id) override;
  void pod_event(events::ContainerEventType type, const sandbox::Pod& pod) override;

  RootfsPaths rootfs_paths(const std::string& id) const;
  std::string bundle_dir(const std::string& id) const;
  std::string exit_dir() const;
  // <runroot>/hostpaths/<id>: where the container's host paths are staged.
  std::string host_path_stage_dir(const std::string& id) const;

  // Containers whose exit was an OOM kill, since this daemon started.
  uint64_t oom_killed_total() const { return oom_killed_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::mutex op;
    std::mutex mu;
    std::condition_variable exited;
    ContainerRecord rec;
    // Orders this container's events; guards the two flags below.
    std::mutex events_mu;
    // start() is between the runtime's start and recording it: an exit
    // seen meanwhile waits for STARTED before its STOPPED goes out.
    bool start_pending = false;
    bool stop_deferred = false;
  };
  using EntryPtr = std::shared_ptr<Entry>;

  // The journal's and the retry answers' names for what this class makes.
  static constexpr const char* kCreateOperation = "container-create";
  static constexpr const char* kContainerKind = "container";

  ContainerManager(Deps deps, std::unique_ptr<ContainerStore> store,
                   std::unique_ptr<store::OperationJournal> journal,
                   std::unique_ptr<store::RetryAnswers> answers);

  // By full id or unique prefix; NotFound naming it.
  Result<EntryPtr> find(const std::string& id_or_prefix);
  std::vector<EntryPtr> entries_of_pod(const std::string& pod_id);

  // Reserves `key` for `id`; if a create whose caller gave up holds it (or
  // held it, once it finishes), returns that container's id instead.
  Result<std::optional<std::string>> reserve_name(const std::string& key, const std::string& id,
                                                  const std::function<bool()>& caller_gone);
  void release_name(const std::string& key);

  Status stop_locked(Entry& e, std::chrono::milliseconds timeout);
  bool wait_exit(Entry& e, std::chrono::milliseconds timeout);
  // Records an exit once (later reports of the same exit are ignored).
  void record_exit(Entry& e, int code, int64_t finished_ns, bool oom_killed);
  void on_exit(const runtime::ExitEvent& ev);
  // Asks the runtime directly, in case a watcher event was missed.
  bool poll_exit(Entry& e);
  Status persist_locked(const ContainerRecord& rec);
  // Publishes `type` for `rec` with its pod and the pod's containers as they
  // are now. The caller holds the container's events_mu and no other lock.
  void publish(events::ContainerEventType type, const ContainerRecord& rec);
  // The event with the pod (if known) and its containers as they are now.
  void publish_with_pod(events::ContainerEventType type, const std::string& object_id,
                        const std::string& pod_id, std::optional<sandbox::Pod> pod);
  void recover();
  // Undoes the creates the operations journal shows unfinished.
  void undo_unfinished_creates();
  // Reloads the answers kept for retries of containers that still exist.
  void reload_retry_answers();
  // A container whose monitor died: SIGKILL it through the runtime. True if
  // it was still there to kill.
  bool kill_unmonitored(const std::string& id);
  // Containers whose pod is gone (a create that raced a pod removal in an
  // older daemon): nothing can reach them through their pod any more.
  void remove_orphans();

  // What no symlink on a request's host path may lie under: every host
  // path some container has mounted read-write, and container storage.
  HostPathPolicy host_path_policy();
  // Resolves each request mount's host path (host_path_resolver.h), mounts
  // it at a staging point in `stage_dir` (host_path_stage.h) and returns the
  // mounts with those points as host paths, for the spec. The read-write
  // ones are recorded as container-writable before it returns.
  Result<std::vector<oci::Mount>> stage_mounts(const std::string& id, const oci::ContainerRequest& req,
                                               const std::string& stage_dir);
  // Unmounts and removes the container's staging points.
  Status unstage_host_paths_of(const std::string& id);
  // A stored container's read-write host paths (for databases older than
  // the container_writable_host_paths table).
  std::vector<WritableHostPath> writable_host_paths_of(const ContainerRecord& rec);

  Deps deps_;
  std::unique_ptr<ContainerStore> store_;
  std::unique_ptr<store::OperationJournal> journal_;
  std::unique_ptr<store::RetryAnswers> answers_;  // unclaimed_, as kept on disk
  runtime::ExitWatcher watcher_;

  std::mutex map_mu_;
  std::map<std::string, EntryPtr> entries_;
  std::map<std::string, std::string> names_;  // "<pod>/<name>/<attempt>" -> id
  std::atomic<uint64_t> oom_killed_{0};
  std::condition_variable names_cv_;          // a create finished or gave up its name
  // key -> created after its caller gave up; written through to answers_
  // under map_mu_.
  std::map<std::string, std::string> unclaimed_;
  // Host dirs containers have been able to write (persisted).
  std::unique_ptr<WritableHostPaths> writable_;
};

// The key under which a container name is reserved in its pod.
std::string name_key(const std::string& pod_id, const std::string& name, uint32_t attempt);

}  // namespace crid::container
