// Objects made for a caller that gave up waiting (the kubelet's deadline
// passed while RunPodSandbox or CreateContainer still worked): the retry of
// the same name gets that object instead of "name is reserved". Kept in the
// metadata database, not only in memory, because the kubelet retries for as
// long as it takes, across a daemon restart too.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "store/database.h"
#include "util/result.h"

namespace crid::store {

class RetryAnswers {
 public:
  // Creates the table if needed. `kind` tells the components apart ("pod",
  // "container"); name keys are the component's own.
  static Result<std::unique_ptr<RetryAnswers>> open(Database& db);

  Status put(const std::string& kind, const std::string& name_key, const std::string& id);
  // Idempotent.
  Status remove(const std::string& kind, const std::string& name_key);
  // name key -> object id, for a component starting up.
  Result<std::map<std::string, std::string>> load(const std::string& kind);

 private:
  explicit RetryAnswers(Database& db) : db_(db) {}
  Database& db_;
};

}  // namespace crid::store
