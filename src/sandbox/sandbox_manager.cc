#include "sandbox/sandbox_manager.h"

#include <unistd.h>

#include <chrono>

#include <spdlog/spdlog.h>

#include "sandbox/pod_validation.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/clock.h"
#include "util/step_timer.h"
#include "util/failpoint.h"

namespace crid::sandbox {

namespace {

std::string name_key(const PodMetadata& m) {
  return fmt::format("{}_{}_{}_{}", m.name, m.namespace_, m.uid, m.attempt);
}

std::string tag(const std::string& rpc, const std::string& id, const PodMetadata* m = nullptr) {
  if (m) return fmt::format("[{} pod={} {}/{}]", rpc, log::short_id(id), m->namespace_, m->name);
  return fmt::format("[{} pod={}]", rpc, log::short_id(id));
}

// How long a retried Run waits for the first one of the same name.
constexpr auto kRetryWait = std::chrono::minutes(4);

// What the CNI plugins get to know about a pod.
network::PodNetworkSpec network_spec(const Pod& pod, const nlohmann::json& bandwidth,
                                     const std::string& pod_cidr) {
  const PodConfig& c = pod.config;
  network::PodNetworkSpec net;
  net.pod_id = pod.id;
  net.netns = pod.ns.net;
  net.pod_name = c.metadata.name;
  net.pod_namespace = c.metadata.namespace_;
  net.pod_uid = c.metadata.uid;
  // Only published ports go to portmap; the kubelet also lists the
  // container ports that have no host port.
  for (auto& pm : c.port_mappings)
    if (pm.host_port > 0) net.port_mappings.push_back(pm);
  net.pod_cidr = pod_cidr;
  net.bandwidth = bandwidth;
  if (!c.dns.empty())
    net.dns = {{"servers", c.dns.servers}, {"searches", c.dns.searches},
               {"options", c.dns.options}};
  return net;
}

// Pods on the host network (no UTS namespace of their own) or without a
// hostname see the node's name.
std::string visible_hostname(const Pod& pod) {
  if (!pod.ns.uts.empty() && !pod.config.hostname.empty()) return pod.config.hostname;
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

bool labels_match(const std::map<std::string, std::string>& want,
                  const std::map<std::string, std::string>& have) {
  for (auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<SandboxManager>> SandboxManager::open(
    const ConfigHolder& config, store::Database& db, std::function<std::string()> pod_cidr) {
  CRID_ASSIGN(auto store, SandboxStore::open(db));
  CRID_ASSIGN(auto journal, store::OperationJournal::open(db));
  CRID_ASSIGN(auto answers, store::RetryAnswers::open(db));
  std::unique_ptr<SandboxManager> m(new SandboxManager(
      config, std::move(store), std::move(journal), std::move(answers), std::move(pod_cidr)));
  m->recover();
  return m;
}

SandboxManager::SandboxManager(const ConfigHolder& config, std::unique_ptr<SandboxStore> store,
                               std::unique_ptr<store::OperationJournal> journal,
                               std::unique_ptr<store::RetryAnswers> answers,
                               std::function<std::string()> pod_cidr)
    : config_(config),
      store_(std::move(store)),
      journal_(std::move(journal)),
      answers_(std::move(answers)),
      cni_(std::make_unique<network::CniInvoker>(config, config.get()->root + "/cni-cache")),
      pod_cidr_(std::move(pod_cidr)),
      containers_(&no_containers_) {}

void SandboxManager::set_containers(PodContainers* containers) {
  containers_ = containers ? containers : &no_containers_;
}

std::string SandboxManager::pod_dir(const std::string& id) const {
  return config_.get()->runroot + "/pods/" + id;
}

std::string SandboxManager::shm_path(const Pod& pod) const {
  if (pod.config.namespaces.ipc == NamespaceMode::kNode) return "/dev/shm";
  return PodFilePaths{pod_dir(pod.id)}.shm();
}

std::shared_ptr<std::mutex> SandboxManager::pod_lock(const std::string& id) {
  std::lock_guard lock(locks_mu_);
  auto& m = locks_[id];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

SandboxManager::PodGuard SandboxManager::lock_pod(const std::string& id) {
  PodGuard g{pod_lock(id), {}};
  g.lock = std::unique_lock(*g.mu);
  return g;
}

Result<std::string> SandboxManager::resolve_id(const std::string& id) {
  if (id.empty()) return make_error(ErrorKind::kInvalidArgument, "pod sandbox id is empty");
  CRID_ASSIGN(auto exact, store_->get(id));
  if (exact) return id;
  if (!is_hex_id(id) || id.size() >= 64)
    return make_error(ErrorKind::kNotFound, "pod sandbox {} not found", id);
  CRID_ASSIGN(auto all, store_->list());
  std::string found;
  for (auto& p : all) {
    if (!p.id.starts_with(id)) continue;
    if (!found.empty())
      return make_error(ErrorKind::kInvalidArgument, "pod sandbox id prefix {} is ambiguous", id);
    found = p.id;
  }
  if (found.empty()) return make_error(ErrorKind::kNotFound, "pod sandbox {} not found", id);
  return found;
}

Result<std::string> SandboxManager::run(const PodConfig& config,
                                        const std::string& runtime_handler,
                                        const std::function<bool()>& caller_gone) {
  StepTimer timer;
  auto cfg = config_.get();
  CRID_ASSIGN(PodRunPlan plan, plan_pod_run(*cfg, config, runtime_handler));
  const std::string& handler = plan.handler;
  const SysctlPlan& sysctls = plan.sysctls;
  const nlohmann::json& bandwidth = plan.bandwidth;

  Pod pod;
  pod.id = new_id();
  pod.config = config;
  pod.runtime_handler = handler;
  pod.cgroup_parent = plan.cgroup_parent;
  pod.created_at_ns = now_ns();
  std::string t = tag("RunPodSandbox", pod.id, &config.metadata);
  Cleanup release_name;  // declared first: runs after every undo step
  Cleanup undo;

  // Reserve the name. A Run of the same name still at work is waited for:
  // it is the kubelet retrying after its deadline.
  std::string key = name_key(config.metadata);
  {
    std::unique_lock lock(names_mu_);
    auto give_up = std::chrono::steady_clock::now() + kRetryWait;
    while (reserved_names_.count(key)) {
      if (std::chrono::steady_clock::now() >= give_up || (caller_gone && caller_gone()))
        return make_error(ErrorKind::kAlreadyExists,
                          "pod name {} is already reserved by pod {} (being created)", key,
                          reserved_names_[key]);
      names_cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (auto it = unclaimed_.find(key); it != unclaimed_.end()) {
      std::string id = it->second;
      unclaimed_.erase(it);
      if (auto st = answers_->remove(kPodKind, key); !st) spdlog::warn("{} {}", t, st.error().message());
      spdlog::info("{} retry: answering with pod {}, made after the first caller gave up", t, id);
      return id;
    }
    CRID_ASSIGN(auto holder, store_->find_by_name(config.metadata));
    if (holder)
      return make_error(ErrorKind::kAlreadyExists, "pod name {} is already used by pod {}", key,
                        *holder);
    reserved_names_[key] = pod.id;
  }
  release_name.add("release name", [this, key] {
    std::lock_guard lock(names_mu_);
    reserved_names_.erase(key);
    names_cv_.notify_all();
  });
  timer.lap("reserve-name");
  auto pod_mu = pod_lock(pod.id);
  std::lock_guard pod_guard(*pod_mu);
  undo.add("forget pod lock", [this, id = pod.id] {
    std::lock_guard lock(locks_mu_);
    locks_.erase(id);
  });

  // From here on every step is noted before it acts: a daemon killed
  // half-way leaves the row, and the next start undoes what it names.
  // Declared before the undo steps' own stack, so it finishes after them.
  //
  // The notes are written, not fsynced (five fsyncs were a third of a Run
  // on a busy disk). A daemon killed at any instant loses none of them: the
  // kernel holds what SQLite wrote. Only a power loss or kernel crash can
  // drop the last ones, and then the reboot has ended what the steps made
  // (namespaces, the pause, veths, the shm mount, the pod dir on a tmpfs
  // runroot) except three things start-up finds without the journal: a
  // pod dir on a disk runroot (the sweep of pod dirs without a row), the
  // host-local IPs (the CNI cache is fsynced before ADD, and its sweep runs
  // DEL for every cache without a row) and, at worst, an empty log
  // directory. The final commit below is fsynced, and with it every note.
  CRID_ASSIGN(auto op, journal_->begin(kRunOperation, pod.id, {{"name", key}},
                                       store::Durability::kWritten));
  Cleanup undo_steps;
  timer.lap("journal-begin");

  PodFilePaths paths{pod_dir(pod.id)};
  CRID_TRY_CTX(fs::make_dirs(paths.dir, 0755), "creating pod dir {}", paths.dir);
  undo_steps.add("remove pod dir", [dir = paths.dir] { (void)fs::remove_all(dir); });
  timer.lap("pod-dir");

  if (!config.log_directory.empty() && !fs::exists(config.log_directory)) {
    CRID_TRY(op.note("log-dir", {{"log_dir", config.log_directory}}));
    CRID_TRY_CTX(fs::make_dirs(config.log_directory, 0755), "creating pod log directory {}",
                 config.log_directory);
    undo_steps.add("remove log dir", [d = config.log_directory] { ::rmdir(d.c_str()); });
  }

  CRID_TRY(op.note("namespaces"));
  timer.lap("note namespaces");
  CRID_ASSIGN(pod.ns, create_pod_namespaces(paths.dir + "/ns", config.namespaces, config.hostname,
                                            sysctls));
  undo_steps.add("unpin namespaces", [ns = pod.ns] { (void)remove_pod_namespaces(ns); });
  timer.lap("namespaces");

  if (config.namespaces.pid == NamespaceMode::kPod) {
    // Its pid is known only once it runs; until noted, recovery finds it by
    // the pod id on its command line.
    CRID_TRY(op.note("pause-starting"));
    timer.lap("note pause-starting");
    CRID_ASSIGN(pod.infra, start_pause(pod.ns, pod.id, "pod " + pod.id));
    undo_steps.add("kill pause", [infra = pod.infra, t] {
      if (auto st = kill_pause(infra, t); !st) spdlog::error("{} undo: {}", t, st.error().message());
    });
    failpoint("pod-pause-started");
    timer.lap("pause");
    CRID_TRY(op.note("pause", {{"pause_pid", pod.infra.pid}, {"pause_start", pod.infra.start_time}}));
    timer.lap("note pause");
    CRID_TRY_CTX(write_infra_file(paths.infra_pid(), pod.infra), "pod {}", pod.id);
    timer.lap("infra-file");
  }

  if (!pod.ns.net.empty()) {
    auto net = network_spec(pod, bandwidth, pod_cidr_ ? pod_cidr_() : "");
    CRID_TRY(op.note("cni-add"));
    timer.lap("note cni-add");
    CRID_ASSIGN(auto attached, cni_->add(net));
    undo_steps.add("CNI DEL", [this, id = pod.id, t] {
      if (auto st = cni_->del(id); !st) spdlog::error("{} undo: {}", t, st.error().message());
    });
    failpoint("pod-cni-added");
    pod.ips = attached.result.pod_ips();
    pod.cni_result = attached.raw_result.dump();
    pod.network_name = attached.network_name;
    timer.lap("cni-add");
  }

  CRID_TRY_CTX(write_pod_files(paths, visible_hostname(pod), pod.ips, config.dns), "pod {}",
               pod.id);
  timer.lap("pod-files");

  if (config.namespaces.ipc != NamespaceMode::kNode) {
    CRID_TRY(op.note("shm"));
    timer.lap("note shm");
    CRID_TRY_CTX(mount_pod_shm(paths, cfg->shm_size), "pod {}", pod.id);
    undo_steps.add("unmount shm", [paths] { (void)unmount_pod_shm(paths); });
    timer.lap("shm");
  }

  // The row and the journal's end in one commit: a crash leaves either a
  // pod or an operation to undo, never both or neither.
  CRID_TRY(op.finish_with([&] { return store_->insert(pod); }));
  undo_steps.dismiss();
  undo.dismiss();
  timer.lap("commit");
  if (caller_gone && caller_gone()) keep_for_retry(key, pod.id, t);
  spdlog::info("{} ready (ips: {}, handler {})", t, fmt::join(pod.ips, ", "), handler);
  spdlog::debug("{} took: {}", t, timer.summary());
  containers_.load()->pod_event(events::ContainerEventType::kCreated, pod);
  containers_.load()->pod_event(events::ContainerEventType::kStarted, pod);
  return pod.id;
}

void SandboxManager::keep_for_retry(const std::string& key, const std::string& id,
                                    const std::string& t) {
  // Under the names lock, so a retry taking the answer cannot interleave
  // and leave a stale one on disk.
  std::lock_guard lock(names_mu_);
  unclaimed_[key] = id;
  if (auto st = answers_->put(kPodKind, key, id); !st)
    spdlog::warn("{} {} (a retry after a restart will find the name taken)", t,
                 st.error().message());
  spdlog::info("{} ready after its caller gave up: kept for the retry", t);
}

namespace {

// Ends a step of `timer`, if there is one.
void lap(StepTimer* timer, const char* step) {
  if (timer) timer->lap(step);
}

}  // namespace

Status SandboxManager::stop_locked(Pod& pod, StepTimer* timer) {
  std::string t = tag("StopPodSandbox", pod.id, &pod.config.metadata);
  auto cfg = config_.get();
  CRID_TRY_CTX(containers_.load()->stop_all(pod.id, cfg->stop_grace_default),
               "stopping the containers of pod {}", pod.id);
  lap(timer, "stop-containers");
  // NOTREADY is committed before the teardown starts: a daemon killed
  // half-way finishes it at start-up instead of reporting a ready pod whose
  // network or namespaces are already gone.
  //
  // Both commits of a stop are written, not fsynced. A daemon killed at any
  // instant loses neither (the kernel holds what SQLite wrote). A power
  // loss or kernel crash may drop them, and the reboot has then killed the
  // pause and dropped the pins itself: a row still READY is what a pod
  // running at the reboot leaves (start-up marks it NOTREADY when its pause
  // or pins are gone and tears it down), a row NOTREADY still naming pins,
  // the pause or a CNI cache entry gets the idempotent teardown again at
  // start-up (host-local IPs included, through the cache). The next fsynced
  // commit (RemovePodSandbox's, any RunPodSandbox's) makes them durable.
  if (pod.state != PodState::kNotReady) {
    pod.state = PodState::kNotReady;
    CRID_TRY(store_->update(pod, store::Durability::kWritten));
    spdlog::info("{} stopping", t);
    containers_.load()->pod_event(events::ContainerEventType::kStopped, pod);
    lap(timer, "mark-notready");
  }
  CRID_TRY(teardown_locked(pod, t, timer));
  CRID_TRY(store_->update(pod, store::Durability::kWritten));
  lap(timer, "commit");
  return Ok();
}

Status SandboxManager::teardown_locked(Pod& pod, const std::string& t, StepTimer* timer) {
  // Killing the init of the pod's PID namespace ends whatever is left in it.
  CRID_TRY(kill_pause(pod.infra, t));
  pod.infra = {};
  lap(timer, "kill-pause");
  // DEL while the netns still exists, so plugins can clean inside it.
  CRID_TRY_CTX(cni_->del(pod.id), "detaching pod {} from the network", pod.id);
  // The addresses went back to IPAM and may already belong to another pod;
  // a stopped pod reports none (the CNI result stays, as history).
  pod.ips.clear();
  lap(timer, "cni-del");
  CRID_TRY_CTX(unmount_pod_shm(PodFilePaths{pod_dir(pod.id)}), "pod {}", pod.id);
  lap(timer, "shm");
  CRID_TRY_CTX(remove_pod_namespaces(pod.ns), "pod {}", pod.id);
  pod.ns = {};
  lap(timer, "namespaces");
  return Ok();
}

Status SandboxManager::stop(const std::string& id) {
  StepTimer timer;
  auto resolved = resolve_id(id);
  if (!resolved) {
    if (resolved.error().kind() == ErrorKind::kNotFound) return Ok();
    return resolved.error();
  }
  auto mu = pod_lock(*resolved);
  std::lock_guard lock(*mu);
  CRID_ASSIGN(auto pod, store_->get(*resolved));
  if (!pod) return Ok();  // removed meanwhile
  timer.lap("lookup");
  CRID_TRY(stop_locked(*pod, &timer));
  spdlog::debug("{} took: {}", tag("StopPodSandbox", pod->id, &pod->config.metadata),
                timer.summary());
  return Ok();
}

Status SandboxManager::remove(const std::string& id) {
  StepTimer timer;
  auto resolved = resolve_id(id);
  if (!resolved) {
    if (resolved.error().kind() == ErrorKind::kNotFound) return Ok();
    return resolved.error();
  }
  auto mu = pod_lock(*resolved);
  {
    std::lock_guard lock(*mu);
    CRID_ASSIGN(auto pod, store_->get(*resolved));
    if (!pod) return Ok();
    timer.lap("lookup");
    // Stop is idempotent: run it even when NOTREADY, to finish a stop that
    // failed half-way.
    CRID_TRY(stop_locked(*pod, &timer));
    CRID_TRY_CTX(containers_.load()->remove_all(pod->id), "removing the containers of pod {}",
                 pod->id);
    timer.lap("remove-containers");
    CRID_TRY_CTX(fs::remove_all(pod_dir(pod->id)), "removing pod dir of {}", pod->id);
    timer.lap("pod-dir");
    CRID_TRY(store_->remove(pod->id));
    timer.lap("delete-row");
    std::string t = tag("RemovePodSandbox", pod->id, &pod->config.metadata);
    spdlog::info("{} removed", t);
    spdlog::debug("{} took: {}", t, timer.summary());
    containers_.load()->pod_event(events::ContainerEventType::kDeleted, *pod);
    std::lock_guard names(names_mu_);
    if (unclaimed_.erase(name_key(pod->config.metadata)))
      (void)answers_->remove(kPodKind, name_key(pod->config.metadata));
  }
  std::lock_guard lock(locks_mu_);
  locks_.erase(*resolved);
  return Ok();
}

Result<Pod> SandboxManager::status(const std::string& id) {
  CRID_ASSIGN(std::string full, resolve_id(id));
  CRID_ASSIGN(auto pod, store_->get(full));
  if (!pod) return make_error(ErrorKind::kNotFound, "pod sandbox {} not found", id);
  return std::move(*pod);
}

Result<std::vector<Pod>> SandboxManager::list(const PodFilter& filter) {
  CRID_ASSIGN(auto all, store_->list());
  std::vector<Pod> out;
  for (auto& p : all) {
    if (!filter.id_prefix.empty() && !p.id.starts_with(filter.id_prefix)) continue;
    if (filter.has_state && p.state != filter.state) continue;
    if (!labels_match(filter.labels, p.config.labels)) continue;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace crid::sandbox
