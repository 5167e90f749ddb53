// Pods in the metadata database (table `pods`). One row per pod from the
// end of a successful RunPodSandbox until RemovePodSandbox; the (name,
// namespace, uid, attempt) quadruple is unique, as the kubelet expects.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sandbox/types.h"
#include "store/database.h"

namespace crid::sandbox {

class SandboxStore {
 public:
  static Result<std::unique_ptr<SandboxStore>> open(store::Database& db);

  // AlreadyExists (naming the holder) when the name quadruple is taken.
  Status insert(const Pod& pod);
  // State, pins, ips, CNI result. kWritten only where a lost update is
  // redone by start-up (see the callers).
  Status update(const Pod& pod, store::Durability durability = store::Durability::kSynced);
  Status remove(const std::string& id);
  Result<std::optional<Pod>> get(const std::string& id);
  Result<std::vector<Pod>> list();
  // The id of the pod holding this name, if any.
  Result<std::optional<std::string>> find_by_name(const PodMetadata& m);

 private:
  explicit SandboxStore(store::Database& db) : db_(db) {}
  store::Database& db_;
};

}  // namespace crid::sandbox
