#include "container/container_manager.h"

#include <algorithm>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "oci/spec_builder.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/clock.h"

namespace crid::container {

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

int64_t to_ns(runtime::WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string tag(const char* rpc, const ContainerRecord& r) {
  return fmt::format("[{} ctr={} name={} pod={}]", rpc, log::short_id(r.id), r.name,
                     log::short_id(r.pod_id));
}

// How long a SIGKILLed container may take to be reported gone.
constexpr auto kKillWait = 60s;
// How long the monitor may take to report the exit of a process the
// runtime already says is gone.
constexpr auto kGoneWait = 5s;
// How long a retried create waits for the first one of the same name.
constexpr auto kRetryWait = 4min;

}  // namespace

std::string name_key(const std::string& pod_id, const std::string& name, uint32_t attempt) {
  return fmt::format("{}/{}/{}", pod_id, name, attempt);
}

ContainerManager::ContainerManager(Deps deps, std::unique_ptr<ContainerStore> store,
                                   std::unique_ptr<store::OperationJournal> journal,
                                   std::unique_ptr<store::RetryAnswers> answers)
    : deps_(deps),
      store_(std::move(store)),
      journal_(std::move(journal)),
      answers_(std::move(answers)) {}

Result<std::unique_ptr<ContainerManager>> ContainerManager::open(Deps deps) {
  CRID_ASSIGN(auto store, ContainerStore::open(deps.db));
  CRID_ASSIGN(auto journal, store::OperationJournal::open(deps.db));
  CRID_ASSIGN(auto answers, store::RetryAnswers::open(deps.db));
  std::unique_ptr<ContainerManager> m(
      new ContainerManager(deps, std::move(store), std::move(journal), std::move(answers)));
  CRID_ASSIGN(m->writable_, WritableHostPaths::open(deps.db));
  m->recover();
  ContainerManager* self = m.get();
  // Exits that happened while no daemon ran are replayed first.
  CRID_TRY_CTX(m->watcher_.start(m->exit_dir(), [self](const runtime::ExitEvent& ev) { self->on_exit(ev); }),
               "watching container exits in {}", m->exit_dir());
  deps.pods.set_containers(self);
  m->remove_orphans();
  return m;
}

ContainerManager::~ContainerManager() {
  deps_.pods.set_containers(nullptr);
  watcher_.stop();
}

RootfsPaths ContainerManager::rootfs_paths(const std::string& id) const {
  return RootfsPaths{deps_.config.get()->root + "/containers/" + id};
}

std::string ContainerManager::bundle_dir(const std::string& id) const {
  return deps_.config.get()->runroot + "/containers/" + id;
}

std::string ContainerManager::exit_dir() const { return deps_.config.get()->runroot + "/exits"; }

Result<ContainerManager::EntryPtr> ContainerManager::find(const std::string& id) {
  if (id.empty()) return make_error(ErrorKind::kInvalidArgument, "no container id given");
  std::lock_guard lock(map_mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) return it->second;
  EntryPtr match;
  for (auto p = entries_.lower_bound(id); p != entries_.end() && p->first.rfind(id, 0) == 0; ++p) {
    if (match)
      return make_error(ErrorKind::kInvalidArgument, "container id prefix {} is ambiguous", id);
    match = p->second;
  }
  if (!match) return make_error(ErrorKind::kNotFound, "container {} not found", id);
  return match;
}

std::vector<ContainerManager::EntryPtr> ContainerManager::entries_of_pod(const std::string& pod_id) {
  std::vector<EntryPtr> out;
  std::lock_guard lock(map_mu_);
  for (auto& [id, e] : entries_) {
    std::lock_guard el(e->mu);
    if (e->rec.pod_id == pod_id) out.push_back(e);
  }
  return out;
}

Result<std::optional<std::string>> ContainerManager::reserve_name(
    const std::string& key, const std::string& id, const std::function<bool()>& caller_gone) {
  std::unique_lock lock(map_mu_);
  auto give_up = std::chrono::steady_clock::now() + kRetryWait;
  for (;;) {
    auto it = names_.find(key);
    if (it == names_.end()) break;
    if (auto u = unclaimed_.find(key); u != unclaimed_.end() && u->second == it->second) {
      std::string found = u->second;
      unclaimed_.erase(u);
      if (auto st = answers_->remove(kContainerKind, key); !st)
        spdlog::warn("[CreateContainer {}] {}", key, st.error().message());
      return std::optional<std::string>(found);
    }
    // Held by a finished container, or a create still at work that the
    // kubelet's retry waits for (bounded).
    bool in_flight = !entries_.count(it->second);
    if (!in_flight || std::chrono::steady_clock::now() >= give_up || (caller_gone && caller_gone()))
      return make_error(ErrorKind::kAlreadyExists,
                        "container name {} is already reserved by container {}", key, it->second);
    names_cv_.wait_for(lock, 100ms);
  }
  names_.emplace(key, id);
  return std::optional<std::string>();
}

void ContainerManager::release_name(const std::string& key) {
  std::lock_guard lock(map_mu_);
  names_.erase(key);
  names_cv_.notify_all();
}

Status ContainerManager::persist_locked(const ContainerRecord& rec) { return store_->update(rec); }

void ContainerManager::record_exit(Entry& e, int code, int64_t finished_ns, bool oom_killed) {
  std::lock_guard events(e.events_mu);
  ContainerRecord rec;
  {
    std::lock_guard lock(e.mu);
    if (e.rec.state == ContainerState::kExited) return;
    e.rec.state = ContainerState::kExited;
    e.rec.exit_code = code;
    // The finish time is the exit file's mtime, which the kernel takes from its
    // coarse clock (a tick behind): never let a quick exit predate the start.
    e.rec.finished_ns = std::max(finished_ns, e.rec.started_ns);
    e.rec.reason = exit_reason(code, oom_killed);
    e.rec.message = oom_killed ? "the container exceeded its memory limit" : "";
    e.rec.pid = 0;
    auto s = persist_locked(e.rec);
    if (!s) spdlog::error("{} recording exit: {}", tag("exit", e.rec), s.error().message());
    spdlog::info("{} exited with {} ({})", tag("exit", e.rec), code, e.rec.reason);
    rec = e.rec;
    e.exited.notify_all();
  }
  if (oom_killed) oom_killed_.fetch_add(1, std::memory_order_relaxed);
  // Exited before start() recorded the start: STARTED must go out first.
  if (e.start_pending)
    e.stop_deferred = true;
  else
    publish(events::ContainerEventType::kStopped, rec);
}

void ContainerManager::publish(events::ContainerEventType type, const ContainerRecord& rec) {
  if (!deps_.events || !deps_.events->has_subscribers()) return;
  std::optional<sandbox::Pod> pod;
  if (auto found = deps_.pods.status(rec.pod_id))
    pod = std::move(found).value();
  else
    spdlog::warn("{} event {}: reading its pod: {}", tag("events", rec), events::to_string(type),
                 found.error().message());
  publish_with_pod(type, rec.id, rec.pod_id, std::move(pod));
}

void ContainerManager::pod_event(events::ContainerEventType type, const sandbox::Pod& pod) {
  if (!deps_.events || !deps_.events->has_subscribers()) return;
  publish_with_pod(type, pod.id, pod.id, pod);
}

void ContainerManager::publish_with_pod(events::ContainerEventType type,
                                        const std::string& object_id, const std::string& pod_id,
                                        std::optional<sandbox::Pod> pod) {
  auto ev = std::make_shared<events::ContainerEvent>();
  ev->type = type;
  ev->container_id = object_id;
  ev->pod_id = pod_id;
  ev->created_ns = now_ns();
  ev->pod = std::move(pod);
  for (auto& other : entries_of_pod(pod_id)) {
    std::lock_guard lock(other->mu);
    ev->containers.push_back(other->rec);
  }
  deps_.events->publish(std::move(ev));
}

void ContainerManager::on_exit(const runtime::ExitEvent& ev) {
  EntryPtr e;
  {
    std::lock_guard lock(map_mu_);
    auto it = entries_.find(ev.id);
    if (it == entries_.end()) return;  // an exec, or a container being removed
    e = it->second;
  }
  bool oom = false;
  int code = ev.code;
  int64_t finished = to_ns(ev.finished_at);
  if (auto st = deps_.runtime.exit_status(ev.id); st && *st) {
    oom = (*st)->oom_killed;
    code = (*st)->code;
  }
  record_exit(*e, code, finished, oom);
}

bool ContainerManager::poll_exit(Entry& e) {
  std::string id;
  {
    std::lock_guard lock(e.mu);
    if (e.rec.state == ContainerState::kExited) return true;
    id = e.rec.id;
  }
  auto st = deps_.runtime.exit_status(id);
  if (!st || !*st) return false;
  record_exit(e, (*st)->code, to_ns((*st)->finished_at), (*st)->oom_killed);
  return true;
}

bool ContainerManager::wait_exit(Entry& e, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (bool exited = false; !exited;) {
    {
      std::unique_lock lock(e.mu);
      // Short waits: the runtime is asked between them in case the
      // watcher's event is late or lost.
      auto until = std::min(deadline, std::chrono::steady_clock::now() + 500ms);
      exited = e.exited.wait_until(lock, until, [&] { return e.rec.state == ContainerState::kExited; });
    }
    if (!exited) exited = poll_exit(e);
    if (!exited && std::chrono::steady_clock::now() >= deadline) return false;
  }
  // record_exit wakes us before it publishes STOPPED, which it does holding
  // events_mu: taking that lock once means the event is out, so a stop
  // answers after its container's STOPPED, and a StopPodSandbox's own
  // STOPPED follows its containers' (seen out of order in CI).
  std::lock_guard events(e.events_mu);
  return true;
}

Status ContainerManager::start(const std::string& id) {
  CRID_ASSIGN(EntryPtr e, find(id));
  std::lock_guard op(e->op);
  ContainerRecord rec;
  {
    std::lock_guard lock(e->mu);
    rec = e->rec;
  }
  if (rec.state != ContainerState::kCreated)
    return make_error(ErrorKind::kFailedPrecondition, "container {} ({}) is {}, not created", rec.id,
                      rec.name, to_string(rec.state));
  {
    std::lock_guard events(e->events_mu);
    e->start_pending = true;
  }
  int64_t started = now_ns();
  Status s = deps_.runtime.start(rec.id);
  std::lock_guard events(e->events_mu);
  e->start_pending = false;
  if (s) {
    std::lock_guard lock(e->mu);
    e->rec.started_ns = started;
    // A quick program may have exited (and been recorded) already.
    if (e->rec.state == ContainerState::kCreated) e->rec.state = ContainerState::kRunning;
    s = persist_locked(e->rec);
    rec = e->rec;
  }
  if (s) {
    spdlog::info("{} started", tag("StartContainer", rec));
    publish(events::ContainerEventType::kStarted, rec);
  }
  if (e->stop_deferred) {
    e->stop_deferred = false;
    {
      std::lock_guard lock(e->mu);
      rec = e->rec;
    }
    publish(events::ContainerEventType::kStopped, rec);
  }
  if (!s) return s.error().wrap(fmt::format("starting container {} ({})", rec.id, rec.name));
  return Ok();
}

Status ContainerManager::stop_locked(Entry& e, std::chrono::milliseconds timeout) {
  ContainerRecord rec;
  {
    std::lock_guard lock(e.mu);
    rec = e.rec;
  }
  if (rec.state == ContainerState::kExited) return Ok();
  auto send = [&](int sig) -> Status {
    auto s = deps_.runtime.kill(rec.id, sig);
    // Gone between our look and the kill ("not running"): what matters is
    // the exit, which its monitor reports a moment after the process ends.
    if (!s && wait_exit(e, kGoneWait)) return Ok();
    return s;
  };
  if (timeout.count() > 0 && rec.state == ContainerState::kRunning) {
    spdlog::info("{} sending signal {} (timeout {}ms)", tag("StopContainer", rec), rec.stop_signal,
                 timeout.count());
    CRID_TRY_CTX(send(rec.stop_signal), "stopping container {}", rec.id);
    if (wait_exit(e, timeout)) return Ok();
    spdlog::info("{} still running after {}ms, sending SIGKILL", tag("StopContainer", rec), timeout.count());
  }
  CRID_TRY_CTX(send(SIGKILL), "killing container {}", rec.id);
  if (!wait_exit(e, kKillWait))
    return make_error(ErrorKind::kDeadlineExceeded, "container {} ({}) did not exit after SIGKILL",
                      rec.id, rec.name);
  return Ok();
}

Status ContainerManager::stop(const std::string& id, std::chrono::milliseconds timeout) {
  CRID_ASSIGN(EntryPtr e, find(id));
  std::lock_guard op(e->op);
  return stop_locked(*e, timeout);
}

Status ContainerManager::remove(const std::string& id) {
  auto found = find(id);
  if (!found) return found.error().kind() == ErrorKind::kNotFound ? Ok() : found.error();
  EntryPtr e = *found;
  std::lock_guard op(e->op);
  ContainerRecord rec;
  {
    std::lock_guard lock(e->mu);
    rec = e->rec;
  }
  {
    std::lock_guard lock(map_mu_);
    if (!entries_.count(rec.id)) return Ok();  // removed while we waited
  }
  if (rec.state != ContainerState::kExited) {
    auto s = stop_locked(*e, 0ms);
    // The runtime's forced delete below kills what is left anyway.
    if (!s) spdlog::warn("{} {}", tag("RemoveContainer", rec), s.error().message());
  }
  // The processes go first (the exit is in the row by now), then the row,
  // then the storage: a daemon killed in between leaves either a complete
  // exited container or storage without a row, which start-up removes.
  CRID_TRY_CTX(deps_.runtime.remove(rec.id), "removing container {}", rec.id);
  // The forced delete killed whatever was left: record that exit if none
  // was, so the row ends exited and STOPPED goes out before DELETED.
  if (!poll_exit(*e)) record_exit(*e, 128 + SIGKILL, now_ns(), false);
  // Its host paths while the row still names it: a failure here is
  // retried by the kubelet's next RemoveContainer.
  CRID_TRY(unstage_host_paths_of(rec.id));
  CRID_TRY(store_->remove(rec.id));
  std::lock_guard events(e->events_mu);
  {
    std::lock_guard lock(map_mu_);
    entries_.erase(rec.id);
    names_.erase(name_key(rec.pod_id, rec.name, rec.attempt));
    if (unclaimed_.erase(name_key(rec.pod_id, rec.name, rec.attempt)))
      (void)answers_->remove(kContainerKind, name_key(rec.pod_id, rec.name, rec.attempt));
    names_cv_.notify_all();
  }
  CRID_TRY_CTX(remove_rootfs(rootfs_paths(rec.id)), "removing the storage of container {}", rec.id);
  CRID_TRY_CTX(fs::remove_all(bundle_dir(rec.id)), "removing the bundle of container {}", rec.id);
  spdlog::info("{} removed", tag("RemoveContainer", rec));
  {
    std::lock_guard lock(e->mu);
    rec = e->rec;
  }
  publish(events::ContainerEventType::kDeleted, rec);
  return Ok();
}

Result<ContainerRecord> ContainerManager::status(const std::string& id, std::string* info_json) {
  CRID_ASSIGN(EntryPtr e, find(id));
  ContainerRecord rec;
  {
    std::lock_guard lock(e->mu);
    rec = e->rec;
  }
  if (info_json) {
    json info = {{"pid", rec.pid}, {"sandboxID", rec.pod_id}, {"runtimeHandler", rec.runtime_handler},
                 {"privileged", rec.privileged}};
    if (auto spec = fs::read_file(bundle_dir(rec.id) + "/config.json"))
      info["runtimeSpec"] = json::parse(*spec, nullptr, false);
    *info_json = info.dump();
  }
  return rec;
}

std::vector<ContainerRecord> ContainerManager::list(const ContainerFilter& filter) {
  std::vector<EntryPtr> all;
  {
    std::lock_guard lock(map_mu_);
    for (auto& [id, e] : entries_) all.push_back(e);
  }
  std::vector<ContainerRecord> out;
  for (auto& e : all) {
    std::lock_guard lock(e->mu);
    if (matches(e->rec, filter)) out.push_back(e->rec);
  }
  return out;
}

Status ContainerManager::update_resources(const std::string& id, const oci::Resources& resources) {
  CRID_ASSIGN(EntryPtr e, find(id));
  std::lock_guard op(e->op);
  ContainerRecord rec;
  {
    std::lock_guard lock(e->mu);
    rec = e->rec;
  }
  if (rec.state == ContainerState::kExited)
    return make_error(ErrorKind::kFailedPrecondition, "updating resources of container {} ({}): it has exited",
                      rec.id, rec.name);
  // The spec builder's own translation, so created and updated limits agree.
  oci::SpecInputs in;
  in.request.name = rec.name;
  in.request.resources = resources;
  in.context.container_id = rec.id;
  in.context.pids_limit = deps_.config.get()->pids_limit;
  oci::SpecBuilder b(in);
  CRID_TRY_CTX(b.set_resources(), "updating resources of container {}", rec.id);
  json linux_resources = b.spec()["linux"]["resources"];
  CRID_TRY_CTX(deps_.runtime.update_resources(rec.id, linux_resources.dump()),
               "updating resources of container {}", rec.id);
  std::lock_guard lock(e->mu);
  e->rec.resources = resources;
  CRID_TRY(persist_locked(e->rec));
  spdlog::info("{} resources updated: {}", tag("UpdateContainerResources", e->rec), linux_resources.dump());
  return Ok();
}

Status ContainerManager::reopen_log(const std::string& id) {
  CRID_ASSIGN(EntryPtr e, find(id));
  ContainerRecord rec;
  {
    std::lock_guard lock(e->mu);
    rec = e->rec;
  }
  if (rec.state != ContainerState::kRunning)
    return make_error(ErrorKind::kFailedPrecondition, "reopening the log of container {} ({}): it is {}",
                      rec.id, rec.name, to_string(rec.state));
  return deps_.runtime.reopen_log(rec.id);
}

Result<ExecSyncResult> ContainerManager::exec_sync(const std::string& id, const std::vector<std::string>& cmd,
                                                   std::chrono::milliseconds timeout) {
  CRID_ASSIGN(EntryPtr e, find(id));
  ContainerRecord rec;
  {
    std::lock_guard lock(e->mu);
    rec = e->rec;
  }
  if (cmd.empty())
    return make_error(ErrorKind::kInvalidArgument, "exec in container {}: empty command", rec.id);
  if (rec.state != ContainerState::kRunning)
    return make_error(ErrorKind::kFailedPrecondition, "exec in container {} ({}): it is {}", rec.id,
                      rec.name, to_string(rec.state));
  runtime::ExecSyncOptions o;
  o.argv = cmd;
  o.timeout = timeout;
  o.max_output = kExecSyncMaxOutput;
  CRID_ASSIGN(auto r, deps_.runtime.exec_sync(rec.id, o));
  if (r.timed_out)
    return make_error(ErrorKind::kDeadlineExceeded, "command \"{}\" in container {} timed out after {}ms",
                      fmt::join(cmd, " "), rec.id, timeout.count());
  return ExecSyncResult{r.exit_code, std::move(r.out), std::move(r.err)};
}

Status ContainerManager::stop_all(const std::string& pod_id, std::chrono::milliseconds grace) {
  // One after the other: each stop is bounded by the grace period; a pod
  // rarely has more than a handful of containers.
  std::optional<Error> first;
  for (auto& e : entries_of_pod(pod_id)) {
    std::lock_guard op(e->op);
    auto s = stop_locked(*e, grace);
    if (!s && !first) first = s.error();
  }
  if (first) return *first;
  return Ok();
}

Status ContainerManager::remove_all(const std::string& pod_id) {
  for (auto& e : entries_of_pod(pod_id)) {
    std::string id;
    {
      std::lock_guard lock(e->mu);
      id = e->rec.id;
    }
    CRID_TRY(remove(id));
  }
  return Ok();
}

}  // namespace crid::container
