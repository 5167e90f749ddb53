// The operations journal: a row per multi-step operation in flight (pod
// create, container create, ...) that spans the filesystem, the kernel and
// the metadata. The operation writes "begun, object id, what it has made so
// far" before each step acts, and deletes the row when it is done (made or
// rolled back). A daemon killed half-way leaves the row: start-up reads it
// and undoes exactly what that operation made, before the generic sweeps
// (which stay as a second line for anything the journal cannot name).
//
// Each note is committed before its step acts, so a note says "this step
// may have begun": undo steps must be idempotent and cope with a step that
// never acted. Notes are fsynced unless the operation was begun with
// Durability::kWritten (see begin()); the end (finish_with) always is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/database.h"
#include "util/result.h"

namespace crid::store {

// An operation found unfinished at start-up.
struct PendingOperation {
  std::string kind;
  std::string id;
  nlohmann::json detail;           // begin()'s detail, merged with every note's facts
  std::vector<std::string> steps;  // in the order noted
  int64_t begun_ns = 0;

  bool noted(const std::string& step) const;
};

class OperationJournal {
 public:
  // Creates the table if needed. Components may each open one over the
  // same database.
  static Result<std::unique_ptr<OperationJournal>> open(Database& db);

  // One operation in flight. Move-only; finished on destruction if not
  // before (an orderly return, success or rollback, leaves nothing to undo;
  // only a dead daemon leaves the row).
  class Operation {
   public:
    Operation(Operation&& o) noexcept;
    Operation& operator=(Operation&&) = delete;
    Operation(const Operation&) = delete;
    ~Operation();

    // Records that `step` is about to act (or has acted), with facts the
    // undo will need (a pid, a path), merged into the detail.
    Status note(const std::string& step, const nlohmann::json& facts = nlohmann::json::object());
    // Deletes the row.
    Status finish() { return finish_with({}); }
    // Runs `final_write` (the object's own row, typically) and deletes the
    // row in one transaction: a crash leaves either both undone or both
    // done. If either fails, the operation stays open (its undo runs, then
    // destruction finishes it).
    Status finish_with(const std::function<Status()>& final_write);

    const std::string& kind() const { return kind_; }
    const std::string& id() const { return id_; }

   private:
    friend class OperationJournal;
    Operation(Database* db, std::string kind, std::string id, nlohmann::json detail,
              Durability notes)
        : db_(db),
          kind_(std::move(kind)),
          id_(std::move(id)),
          detail_(std::move(detail)),
          notes_(notes) {}
    Database* db_;  // null once finished or moved from
    std::string kind_, id_;
    nlohmann::json detail_;
    std::vector<std::string> steps_;
    Durability notes_;
  };

  // Writes the row (replacing a leftover of the same kind and id). `detail`
  // must be a JSON object. `notes` is how far this row and every note
  // reach before returning. kWritten survives any crash of the daemon, so
  // start-up still undoes exactly what was noted; after a power loss or
  // kernel crash the last notes (or the whole row) may be gone, so choose
  // it only for an operation whose steps make nothing that outlives a
  // reboot without a start-up sweep finding it. finish_with() is synced
  // either way, and with it every note before it.
  Result<Operation> begin(const std::string& kind, const std::string& id,
                          nlohmann::json detail = nlohmann::json::object(),
                          Durability notes = Durability::kSynced);

  // Unfinished operations of `kind`, oldest first.
  Result<std::vector<PendingOperation>> pending(const std::string& kind);
  // Drops a row once recovery has undone its operation.
  Status forget(const std::string& kind, const std::string& id);

 private:
  explicit OperationJournal(Database& db) : db_(db) {}
  Database& db_;
};

}  // namespace crid::store
