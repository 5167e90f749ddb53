// Host directories some container has been able to write (its read-write
// bind mounts), remembered in the metadata database for as long as each
// directory exists: a symlink a container planted there stays suspect
// after the container is gone (the usual attack: one pod plants, exits,
// and a later pod mounts the path) and after a daemon restart. See
// host_path_resolver.h for how the list is used.
//
// A row is dropped once its path no longer names the same directory
// (device and inode): the directory it stood for is gone, and anything
// planted in it with it. That is checked at start-up and whenever the list
// has doubled since the last check (kubelet volume dirs come and go with
// their pods), so the cost stays one stat per row per doubling.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "container/host_path_resolver.h"
#include "store/database.h"

namespace crid::container {

struct WritableHostPath {
  FileId id;
  std::string path;  // as the request named it, for pruning
};

class WritableHostPaths {
 public:
  // Creates the table, loads it and prunes rows of directories now gone.
  static Result<std::unique_ptr<WritableHostPaths>> open(store::Database& db);

  // Records `dirs` (committed before it returns: the caller then lets the
  // container run).
  Status add(const std::vector<WritableHostPath>& dirs);
  // Sorted (for binary search).
  std::vector<FileId> ids() const;

 private:
  explicit WritableHostPaths(store::Database& db) : db_(db) {}
  // Drops rows whose path names another object now (or nothing). Caller
  // holds mu_.
  Status prune_locked();

  store::Database& db_;
  mutable std::mutex mu_;
  std::vector<WritableHostPath> dirs_;
  size_t size_after_prune_ = 0;
};

}  // namespace crid::container
