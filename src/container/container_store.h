// Containers in the metadata database (table `containers`): one row from
// the end of a successful CreateContainer until RemoveContainer, updated at
// every state change so a restarted daemon knows what it had.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "container/types.h"
#include "store/database.h"

namespace crid::container {

class ContainerStore {
 public:
  static Result<std::unique_ptr<ContainerStore>> open(store::Database& db);

  // AlreadyExists naming the holder when (pod, name, attempt) is taken.
  Status insert(const ContainerRecord& r);
  Status update(const ContainerRecord& r);
  Status remove(const std::string& id);
  Result<std::vector<ContainerRecord>> list();

 private:
  explicit ContainerStore(store::Database& db) : db_(db) {}
  store::Database& db_;
};

// The parts of a record kept as JSON in the `request` column (exposed for
// tests).
std::string record_extras_to_json(const ContainerRecord& r);
Status record_extras_from_json(const std::string& text, ContainerRecord& r);

}  // namespace crid::container
