// Start-up after a restart, a crash or a reboot: every stored container is
// re-learnt from its bundle (its monitor kept it running while no daemon
// did), exits that happened meanwhile are recorded, and storage or bundles
// without a row (a create cut short by a crash) are removed: first those
// the operations journal names, step by step, then, as a second line, any
// other storage or bundle without a row.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "container/container_manager.h"
#include "runtime/monitor_cgroup.h"
#include "runtime/process_probe.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/clock.h"

namespace crid::container {

using namespace std::chrono_literals;

namespace {

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (name != "." && name != ".." && ent->d_type == DT_DIR) out.push_back(name);
  }
  ::closedir(d);
  return out;
}

int64_t to_ns(runtime::WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The container's cgroupfs path from its bundle's config.json ("" for the
// systemd driver's "slice:prefix:name" form or an unreadable spec).
std::string cgroupfs_path_of(const std::string& bundle) {
  auto text = fs::read_file(bundle + "/config.json");
  if (!text) return "";
  auto spec = nlohmann::json::parse(*text, nullptr, false);
  if (spec.is_discarded()) return "";
  std::string path = spec.value(nlohmann::json::json_pointer("/linux/cgroupsPath"), std::string());
  if (path.empty() || path.front() != '/' || path.find(':') != std::string::npos) return "";
  return path;
}

}  // namespace

bool ContainerManager::kill_unmonitored(const std::string& id) {
  auto st = deps_.runtime.state(id);
  if (!st || (st->status != runtime::ContainerStatus::kRunning &&
              st->status != runtime::ContainerStatus::kCreated &&
              st->status != runtime::ContainerStatus::kPaused))
    return false;
  if (auto s = deps_.runtime.kill(id, SIGKILL, /*all=*/true); !s) {
    spdlog::error("[recover ctr={}] killing a container without monitor: {}", log::short_id(id),
                  s.error().message());
    return false;
  }
  return true;
}

void ContainerManager::remove_orphans() {
  std::vector<std::pair<std::string, std::string>> orphans;
  {
    std::lock_guard lock(map_mu_);
    for (auto& [id, e] : entries_) {
      std::lock_guard el(e->mu);
      auto pod = deps_.pods.status(e->rec.pod_id);
      if (!pod && pod.error().kind() == ErrorKind::kNotFound) orphans.push_back({id, e->rec.pod_id});
    }
  }
  for (auto& [id, pod] : orphans) {
    spdlog::warn("[recover ctr={}] its pod {} is gone: removing it", log::short_id(id), log::short_id(pod));
    if (auto s = remove(id); !s) spdlog::error("[recover ctr={}] {}", log::short_id(id), s.error().message());
  }
}

void ContainerManager::undo_unfinished_creates() {
  auto ops = journal_->pending(kCreateOperation);
  if (!ops) {
    spdlog::error("[recover] reading the operations journal: {}", ops.error().message());
    return;
  }
  for (const auto& op : *ops) {
    std::string t = fmt::format("[recover ctr={}]", log::short_id(op.id));
    spdlog::warn("{} undoing an interrupted CreateContainer of {} (steps begun: {})", t,
                 op.detail.value("name", std::string("?")), fmt::join(op.steps, ", "));
    bool clean = true;
    auto report = [&](const Status& st) {
      if (st) return;
      clean = false;
      spdlog::error("{} {}", t, st.error().message());
    };
    std::string bundle = bundle_dir(op.id);
    if (op.noted("runtime-create")) {
      std::string cgroup = cgroupfs_path_of(bundle);
      if (deps_.runtime.recover(op.id, bundle)) {
        report(deps_.runtime.remove(op.id));
      } else {
        // The runtime cannot name it: its monitor, if its pid was noted,
        // still can (the container's processes are its descendants).
        pid_t monitor = op.detail.value("monitor_pid", 0);
        if (monitor > 0 && runtime::process_alive(monitor, op.id)) {
          runtime::kill_process_tree(monitor);
          if (!runtime::wait_process_gone(monitor, 5s, op.id))
            report(make_error(ErrorKind::kInternal, "conmon (pid {}) survived SIGKILL", monitor));
        }
      }
      if (!cgroup.empty() && runtime::cgroup_exists(cgroup)) report(runtime::remove_cgroup(cgroup));
    }
    if (op.noted("bundle")) report(fs::remove_all(bundle));
    if (op.noted("rootfs")) report(remove_rootfs(rootfs_paths(op.id)));
    if (clean) report(journal_->forget(kCreateOperation, op.id));
  }
}

void ContainerManager::reload_retry_answers() {
  auto answers = answers_->load(kContainerKind);
  if (!answers) {
    spdlog::error("[recover] reading the retry answers: {}", answers.error().message());
    return;
  }
  for (auto& [key, id] : *answers) {
    if (entries_.count(id)) {
      unclaimed_[key] = id;
    } else if (auto st = answers_->remove(kContainerKind, key); !st) {
      spdlog::error("[recover] {}", st.error().message());
    }
  }
}

void ContainerManager::recover() {
  undo_unfinished_creates();
  auto rows = store_->list();
  if (!rows) {
    spdlog::error("[recover] reading the containers table: {}", rows.error().message());
    return;
  }
  std::vector<WritableHostPath> old_writable;
  for (auto& rec : *rows) {
    std::string t = fmt::format("[recover ctr={} name={}]", log::short_id(rec.id), rec.name);
    bool changed = false;
    auto found = deps_.runtime.recover(rec.id, bundle_dir(rec.id));
    if (rec.state != ContainerState::kExited) {
      if (!found) {
        // No bundle: the runroot was wiped (a reboot), the container with it.
        rec.state = ContainerState::kExited;
        rec.exit_code = -1;
        rec.reason = "Error";
        rec.message = "the container's state was lost (host rebooted?)";
        rec.finished_ns = now_ns();
        rec.pid = 0;
        changed = true;
        spdlog::warn("{} {}: {}", t, rec.message, found.error().message());
      } else if (found->exit) {
        rec.state = ContainerState::kExited;
        rec.exit_code = found->exit->code;
        rec.finished_ns = to_ns(found->exit->finished_at);
        rec.reason = exit_reason(rec.exit_code, found->exit->oom_killed);
        rec.pid = 0;
        changed = true;
        spdlog::info("{} exited with {} while the daemon was down", t, rec.exit_code);
      } else if (!found->monitor_alive) {
        // Nobody watches its exit, holds its stdio or writes its log any
        // more: a process left running would be reported and never seen to
        // end. Kill it, and say so.
        bool killed = kill_unmonitored(rec.id);
        rec.state = ContainerState::kExited;
        rec.exit_code = killed ? 128 + SIGKILL : -1;
        rec.reason = "Error";
        rec.message = killed ? "the container's monitor died; the container was killed"
                             : "the container's monitor died without recording an exit";
        rec.finished_ns = now_ns();
        rec.pid = 0;
        changed = true;
        spdlog::warn("{} {}", t, rec.message);
      } else if (rec.state == ContainerState::kCreated) {
        // A start whose row update was cut short: the runtime knows better.
        auto st = deps_.runtime.state(rec.id);
        if (st && st->status == runtime::ContainerStatus::kRunning) {
          rec.state = ContainerState::kRunning;
          rec.started_ns = now_ns();
          changed = true;
          spdlog::info("{} was started just before the daemon stopped: running", t);
        }
      }
    }
    if (changed) {
      if (auto s = store_->update(rec); !s) spdlog::error("{} {}", t, s.error().message());
    }
    auto e = std::make_shared<Entry>();
    names_[name_key(rec.pod_id, rec.name, rec.attempt)] = rec.id;
    for (auto& w : writable_host_paths_of(rec)) old_writable.push_back(std::move(w));
    e->rec = std::move(rec);
    entries_[e->rec.id] = e;
  }

  if (auto s = writable_->add(old_writable); !s) spdlog::error("[recover] {}", s.error().message());

  auto cfg = deps_.config.get();
  for (const auto& id : subdirs(cfg->runroot + "/containers")) {
    if (entries_.count(id)) continue;
    spdlog::warn("[recover ctr={}] removing the bundle of an unfinished create", log::short_id(id));
    std::string cgroup = cgroupfs_path_of(bundle_dir(id));
    if (deps_.runtime.recover(id, bundle_dir(id))) (void)deps_.runtime.remove(id);
    (void)fs::remove_all(bundle_dir(id));
    // A runtime killed during its create leaves the cgroup it made, which
    // no runtime state names any more.
    if (!cgroup.empty() && runtime::cgroup_exists(cgroup)) {
      if (auto s = runtime::remove_cgroup(cgroup); !s)
        spdlog::error("[recover ctr={}] {}", log::short_id(id), s.error().message());
    }
  }
  for (const auto& id : subdirs(cfg->root + "/containers")) {
    if (entries_.count(id)) continue;
    spdlog::warn("[recover ctr={}] removing the storage of an unfinished create", log::short_id(id));
    if (auto s = remove_rootfs(rootfs_paths(id)); !s) spdlog::error("[recover] {}", s.error().message());
  }
  // Host paths staged for containers nobody knows (a create cut short, or
  // a removal that failed half-way).
  for (const auto& id : subdirs(cfg->runroot + "/hostpaths")) {
    if (entries_.count(id)) continue;
    spdlog::warn("[recover ctr={}] unmounting the host paths staged for an unfinished create",
                 log::short_id(id));
    if (auto s = unstage_host_paths_of(id); !s) spdlog::error("[recover] {}", s.error().message());
  }
  // Exit files of containers nobody knows (removed, or never committed).
  if (DIR* d = ::opendir(exit_dir().c_str())) {
    while (dirent* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (ent->d_type == DT_REG && !entries_.count(name)) ::unlinkat(::dirfd(d), name.c_str(), 0);
    }
    ::closedir(d);
  }
  reload_retry_answers();
  if (!entries_.empty()) spdlog::info("[recover] {} containers known", entries_.size());
}

}  // namespace crid::container
