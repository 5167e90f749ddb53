// The host paths of a container's bind mounts: which directories count as
// writable by containers, and the staging of each request mount (see
// host_path_resolver.h and host_path_stage.h for why).
#include <sys/stat.h>

#include <algorithm>

#include "container/container_manager.h"
#include "container/host_path_stage.h"
#include "util/fs.h"

namespace crid::container {

HostPathPolicy ContainerManager::host_path_policy() {
  HostPathPolicy policy;
  auto cfg = deps_.config.get();
  // Container storage (upper dirs, merged rootfs, image volumes) and pod
  // dirs (the shared /dev/shm) are written by containers too.
  for (const auto& dir : {cfg->root + "/containers", cfg->runroot + "/pods"}) {
    FileId id;
    if (file_id_of(dir, &id)) policy.container_writable.push_back(id);
  }
  auto ids = writable_->ids();
  policy.container_writable.insert(policy.container_writable.end(), ids.begin(), ids.end());
  std::sort(policy.container_writable.begin(), policy.container_writable.end());
  return policy;
}

Result<std::vector<oci::Mount>> ContainerManager::stage_mounts(const std::string& id,
                                                               const oci::ContainerRequest& req,
                                                               const std::string& stage_dir) {
  std::vector<oci::Mount> staged = req.mounts;
  if (staged.empty()) return staged;
  HostPathPolicy policy = host_path_policy();
  std::vector<WritableHostPath> writable;
  for (size_t i = 0; i < staged.size(); ++i) {
    oci::Mount& m = staged[i];
    auto resolved = resolve_host_path(m.host_path, policy);
    if (!resolved)
      return resolved.error().wrap(fmt::format("mount {} of container {}", m.container_path, req.name));
    // Only dirs can hold a planted symlink.
    if (!m.readonly && resolved->is_dir) {
      struct stat st {};
      if (::fstat(resolved->fd.get(), &st) != 0)
        return sys_error("mount {} of container {}: stat {}", m.container_path, req.name,
                         resolved->path);
      writable.push_back({FileId{st.st_dev, st.st_ino}, m.host_path});
    }
    auto at = stage_host_path(*resolved, stage_dir, i);
    if (!at)
      return at.error().wrap(fmt::format("mount {} of container {}: staging host path {}",
                                         m.container_path, req.name, m.host_path));
    m.host_path = *at;
  }
  // Recorded before the runtime can start the container: from then on it
  // may plant symlinks there. Kept after it is removed (writable_host_paths.h).
  CRID_TRY_CTX(writable_->add(writable), "container {} ({})", req.name, id);
  return staged;
}

std::string ContainerManager::host_path_stage_dir(const std::string& id) const {
  return deps_.config.get()->runroot + "/hostpaths/" + id;
}

Status ContainerManager::unstage_host_paths_of(const std::string& id) {
  CRID_TRY_CTX(unstage_host_paths(host_path_stage_dir(id)), "container {}: unmounting its host paths", id);
  return Ok();
}

std::vector<WritableHostPath> ContainerManager::writable_host_paths_of(const ContainerRecord& rec) {
  // Both the staged object (what was really mounted) and what the path
  // names now: more refusals, never fewer.
  std::vector<WritableHostPath> out;
  for (size_t i = 0; i < rec.mounts.size(); ++i) {
    const oci::Mount& m = rec.mounts[i];
    if (m.readonly) continue;
    FileId f;
    if (file_id_of(host_path_stage_dir(rec.id) + "/" + std::to_string(i), &f))
      out.push_back({f, m.host_path});
    if (file_id_of(m.host_path, &f)) out.push_back({f, m.host_path});
  }
  return out;
}

}  // namespace crid::container
