// The metadata database: one SQLite file under the root, in WAL mode with
// synchronous commits (unless a transaction asks for Durability::kWritten),
// so a SIGKILL at any instant leaves the last committed state. Transactions run on the one writer connection; a statement
// prepared outside a transaction runs on a read-only reader connection of
// its own for its lifetime (taken from a pool), so it sees the last commit
// only (never another thread's transaction half-way) and, WAL allowing it,
// does not queue behind the writer. A reader is never shared by two live
// statements: SQLite keeps a connection's read snapshot while any of its
// statements is active, so a shared reader showed one thread's query the
// database as of another thread's older query (a pod just made was "not
// found" by the CreateContainer that followed its RunPodSandbox).
// Each component owns its tables and creates them itself
// (CREATE TABLE IF NOT EXISTS) through ensure_schema().
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace crid::store {

class Database;

// A prepared statement; bind by 1-based index, step through rows.
class Statement {
 public:
  Statement(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& bind(int idx, const std::string& v);
  Statement& bind(int idx, int64_t v);
  Statement& bind_null(int idx);

  // True while a row is available.
  Result<bool> step();
  // Runs to completion (for INSERT/UPDATE/DELETE).
  Status run();

  std::string text(int col) const;
  int64_t integer(int col) const;
  bool is_null(int col) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* s, std::string sql, Database* pool)
      : db_(db), stmt_(s), sql_(std::move(sql)), pool_(pool) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  Database* pool_;  // where db_ goes back to (a reader), or null (the writer)
};

// How far a transaction's commit must reach before transaction() returns.
enum class Durability {
  // On disk (the WAL fsynced): survives a crash of the whole machine.
  kSynced,
  // Written to the WAL through the kernel, not fsynced: survives a crash of
  // the daemon (SIGKILL included: the kernel writes its page cache back
  // anyway), may be lost with the last commits before a power loss or
  // kernel crash. The database stays consistent either way, and the WAL
  // is one sequential log: the next kSynced commit makes every earlier
  // one durable too. For writes whose loss after a reboot only leaves what
  // start-up finds by other means.
  kWritten,
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();

  Status exec(const std::string& sql);
  Result<Statement> prepare(const std::string& sql);

  // Runs `fn` inside BEGIN IMMEDIATE .. COMMIT; rolls back if it fails.
  // Serialized: SQLite has one writer at a time anyway. Statements that
  // `fn` prepares (on this thread) run on the writer and see its changes.
  // A nested call is part of the enclosing transaction (and its
  // durability).
  Status transaction(const std::function<Status()>& fn,
                     Durability durability = Durability::kSynced);

  // Idempotent schema set-up for a component's tables.
  Status ensure_schema(const std::string& ddl) { return exec(ddl); }

  const std::string& path() const { return path_; }

 private:
  friend class Statement;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // An idle reader connection, opened if none is idle.
  Result<sqlite3*> take_reader();
  void give_back_reader(sqlite3* reader);

  sqlite3* db_;
  std::string path_;
  std::recursive_mutex write_mu_;
  Durability writer_durability_ = Durability::kSynced;  // as open() sets it; under write_mu_
  std::mutex readers_mu_;
  std::vector<sqlite3*> idle_readers_;
  std::vector<sqlite3*> all_readers_;
};

}  // namespace crid::store
