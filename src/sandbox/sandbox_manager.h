// SandboxManager: the pod sandbox lifecycle (RunPodSandbox, Stop, Remove,
// Status, List) in domain types.
//
// Run is a short driver of named steps (validate, reserve the name, pod
// dir, namespaces, CNI ADD, files, shm, row), each registering its undo on a
// Cleanup so a failure leaves nothing behind, and each noted beforehand in
// the operations journal so a daemon killed half-way has its leftovers
// undone at the next start. Locks are per pod: slow work
// (CNI, namespace helpers) never holds a lock another pod needs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config_holder.h"
#include "network/cni_invoker.h"
#include "sandbox/pod_containers.h"
#include "sandbox/sandbox_store.h"
#include "sandbox/types.h"
#include "store/database.h"
#include "store/operation_journal.h"
#include "store/retry_answers.h"
#include "util/step_timer.h"

namespace crid::sandbox {

class SandboxManager {
 public:
  // `pod_cidr` returns the node's pod CIDR (from UpdateRuntimeConfig) or "".
  static Result<std::unique_ptr<SandboxManager>> open(const ConfigHolder& config,
                                                      store::Database& db,
                                                      std::function<std::string()> pod_cidr);

  // The container layer registers itself here (see pod_containers.h).
  void set_containers(PodContainers* containers);

  // Creates a ready pod; returns its id. The handler "" means the default.
  // `caller_gone` (may be empty) tells whether the caller stopped waiting
  // (the kubelet's deadline passed): such a pod is kept for the retry of the
  // same name, which gets its id instead of "name is reserved", as the
  // kubelet expects. A retry arriving while the first Run still works waits
  // for it.
  Result<std::string> run(const PodConfig& config, const std::string& runtime_handler,
                          const std::function<bool()>& caller_gone = {});
  // Idempotent; unknown ids are OK (CRI: nothing left to reclaim).
  Status stop(const std::string& id);
  // Idempotent; unknown ids are OK.
  Status remove(const std::string& id);
  // NotFound for unknown ids. Accepts a unique id prefix, as crictl users type.
  Result<Pod> status(const std::string& id);
  Result<std::vector<Pod>> list(const PodFilter& filter);

  // <runroot>/pods/<id>: pins, hostname, hosts, resolv.conf, shm.
  std::string pod_dir(const std::string& id) const;
  // The /dev/shm a container of this pod mounts.
  std::string shm_path(const Pod& pod) const;

  network::CniInvoker& cni() { return *cni_; }

  // The pod's lock, as Stop and Remove hold it. CreateContainer holds it
  // for the whole create, so a pod cannot be stopped or removed half-way
  // through one of its creates (leaving a container without a pod).
  struct PodGuard {
    std::shared_ptr<std::mutex> mu;  // kept alive while locked
    std::unique_lock<std::mutex> lock;
  };
  PodGuard lock_pod(const std::string& id);

 private:
  // The journal's and the retry answers' names for what this class makes.
  static constexpr const char* kRunOperation = "pod-create";
  static constexpr const char* kPodKind = "pod";

  SandboxManager(const ConfigHolder& config, std::unique_ptr<SandboxStore> store,
                 std::unique_ptr<store::OperationJournal> journal,
                 std::unique_ptr<store::RetryAnswers> answers,
                 std::function<std::string()> pod_cidr);
  std::shared_ptr<std::mutex> pod_lock(const std::string& id);
  Result<std::string> resolve_id(const std::string& id_or_prefix);
  // `timer`, when given, gets one lap per step (for the debug line).
  Status stop_locked(Pod& pod, StepTimer* timer = nullptr);
  // Pause, CNI attachment, shm and namespace pins of a NOTREADY pod;
  // idempotent, so start-up can finish a teardown cut short.
  Status teardown_locked(Pod& pod, const std::string& tag, StepTimer* timer = nullptr);
  // After a crash or reboot: creates left in the journal are undone, pod
  // dirs without a row are torn down, rows whose namespace pins are gone
  // become NOTREADY, retry answers of vanished pods are dropped.
  void recover();
  // Undoes the RunPodSandbox calls the journal shows unfinished.
  void undo_unfinished_runs();
  // Remembers (in memory and on disk) a pod made for a caller that gave up.
  void keep_for_retry(const std::string& key, const std::string& id, const std::string& t);

  const ConfigHolder& config_;
  std::unique_ptr<SandboxStore> store_;
  std::unique_ptr<store::OperationJournal> journal_;
  std::unique_ptr<store::RetryAnswers> answers_;  // unclaimed_, as kept on disk
  std::unique_ptr<network::CniInvoker> cni_;
  std::function<std::string()> pod_cidr_;
  NoPodContainers no_containers_;
  std::atomic<PodContainers*> containers_;

  std::mutex locks_mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
  std::mutex names_mu_;
  std::condition_variable names_cv_;  // a reservation was released
  std::map<std::string, std::string> reserved_names_;  // name key -> pod id being created
  std::map<std::string, std::string> unclaimed_;  // name key -> pod whose caller gave up
};

}  // namespace crid::sandbox
