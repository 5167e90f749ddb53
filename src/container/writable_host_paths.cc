#include "container/writable_host_paths.h"

#include <algorithm>

#include "util/log.h"

namespace crid::container {

namespace {

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS container_writable_host_paths (
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (dev, ino)
))";

// Below this many rows pruning is not worth a stat per row.
constexpr size_t kPruneFloor = 256;

}  // namespace

Result<std::unique_ptr<WritableHostPaths>> WritableHostPaths::open(store::Database& db) {
  CRID_TRY_CTX(db.ensure_schema(kSchema), "creating the container_writable_host_paths table");
  std::unique_ptr<WritableHostPaths> w(new WritableHostPaths(db));
  {
    CRID_ASSIGN(auto q, db.prepare("SELECT dev, ino, path FROM container_writable_host_paths"));
    for (;;) {
      CRID_ASSIGN(bool row, q.step());
      if (!row) break;
      w->dirs_.push_back({FileId{static_cast<dev_t>(q.integer(0)), static_cast<ino_t>(q.integer(1))},
                          q.text(2)});
    }
  }
  std::lock_guard lock(w->mu_);
  CRID_TRY(w->prune_locked());
  return w;
}

Status WritableHostPaths::prune_locked() {
  std::vector<WritableHostPath> kept, gone;
  for (auto& d : dirs_) {
    FileId now;
    if (file_id_of(d.path, &now) && now == d.id) kept.push_back(std::move(d));
    else gone.push_back(std::move(d));
  }
  dirs_ = std::move(kept);
  size_after_prune_ = dirs_.size();
  if (gone.empty()) return Ok();
  CRID_TRY_CTX(db_.transaction([&]() -> Status {
    for (const auto& p : gone) {
      CRID_ASSIGN(auto del, db_.prepare("DELETE FROM container_writable_host_paths "
                                        "WHERE dev = ? AND ino = ?"));
      CRID_TRY(del.bind(1, static_cast<int64_t>(p.id.dev)).bind(2, static_cast<int64_t>(p.id.ino)).run());
    }
    return Ok();
  }), "forgetting {} container-writable host dirs that are gone", gone.size());
  spdlog::info("[host paths] {} once container-writable host dirs are gone: forgotten", gone.size());
  return Ok();
}

Status WritableHostPaths::add(const std::vector<WritableHostPath>& all) {
  // Most creates mount dirs already known (a restarted container, another
  // container of the pod): no commit, which costs a sync, for those.
  std::vector<WritableHostPath> dirs;
  {
    std::lock_guard lock(mu_);
    for (const auto& d : all)
      if (std::none_of(dirs_.begin(), dirs_.end(),
                       [&](const auto& x) { return x.id == d.id && x.path == d.path; }))
        dirs.push_back(d);
  }
  if (dirs.empty()) return Ok();
  CRID_TRY_CTX(db_.transaction([&]() -> Status {
    for (const auto& d : dirs) {
      CRID_ASSIGN(auto ins, db_.prepare("INSERT OR REPLACE INTO container_writable_host_paths "
                                        "(dev, ino, path) VALUES (?, ?, ?)"));
      CRID_TRY(ins.bind(1, static_cast<int64_t>(d.id.dev))
                   .bind(2, static_cast<int64_t>(d.id.ino))
                   .bind(3, d.path)
                   .run());
    }
    return Ok();
  }), "recording container-writable host dirs");
  std::lock_guard lock(mu_);
  for (const auto& d : dirs) {
    auto same = std::find_if(dirs_.begin(), dirs_.end(), [&](const auto& x) { return x.id == d.id; });
    if (same == dirs_.end()) dirs_.push_back(d);
    else same->path = d.path;
  }
  if (dirs_.size() > 2 * std::max(size_after_prune_, kPruneFloor)) {
    if (auto s = prune_locked(); !s) spdlog::warn("[host paths] {}", s.error().message());
  }
  return Ok();
}

std::vector<FileId> WritableHostPaths::ids() const {
  std::vector<FileId> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(dirs_.size());
    for (const auto& d : dirs_) out.push_back(d.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace crid::container
