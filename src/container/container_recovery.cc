// Start-up after a restart, a crash or a reboot: every stored container is
// re-learnt from its bundle (its monitor kept it running while no daemon
// did), exits that happened meanwhile are recorded, and storage or bundles
// without a row (a create cut short by a crash) are removed.
#include <dirent.h>

#include "container/container_manager.h"
#include "util/fs.h"
#include "util/log.h"

namespace crid::container {

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

}  // namespace

void ContainerManager::recover() {
  auto rows = store_->list();
  if (!rows) {
    spdlog::error("[recover] reading the containers table: {}", rows.error().message());
    return;
  }
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
        rec.finished_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
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
        rec.state = ContainerState::kExited;
        rec.exit_code = -1;
        rec.reason = "Error";
        rec.message = "the container's monitor died without recording an exit";
        rec.pid = 0;
        changed = true;
        spdlog::warn("{} {}", t, rec.message);
      }
    }
    if (changed) {
      if (auto s = store_->update(rec); !s) spdlog::error("{} {}", t, s.error().message());
    }
    auto e = std::make_shared<Entry>();
    names_[name_key(rec.pod_id, rec.name, rec.attempt)] = rec.id;
    e->rec = std::move(rec);
    entries_[e->rec.id] = e;
  }

  auto cfg = deps_.config.get();
  for (const auto& id : subdirs(cfg->runroot + "/containers")) {
    if (entries_.count(id)) continue;
    spdlog::warn("[recover ctr={}] removing the bundle of an unfinished create", log::short_id(id));
    if (deps_.runtime.recover(id, bundle_dir(id))) (void)deps_.runtime.remove(id);
    (void)fs::remove_all(bundle_dir(id));
  }
  for (const auto& id : subdirs(cfg->root + "/containers")) {
    if (entries_.count(id)) continue;
    spdlog::warn("[recover ctr={}] removing the storage of an unfinished create", log::short_id(id));
    if (auto s = remove_rootfs(rootfs_paths(id)); !s) spdlog::error("[recover] {}", s.error().message());
  }
  if (!entries_.empty()) spdlog::info("[recover] {} containers known", entries_.size());
}

}  // namespace crid::container
