#include "store/database.h"

namespace crid::store {

namespace {
// The database whose transaction this thread is running, if any.
thread_local const Database* t_in_transaction = nullptr;

Error db_error(sqlite3* db, const std::string& what) {
  return make_error(ErrorKind::kInternal, "metadata database: {}: {}", what, sqlite3_errmsg(db));
}
}  // namespace

Statement::Statement(Statement&& o) noexcept
    : db_(o.db_),
      stmt_(std::exchange(o.stmt_, nullptr)),
      sql_(std::move(o.sql_)),
      pool_(std::exchange(o.pool_, nullptr)) {}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
  if (pool_) pool_->give_back_reader(db_);
}

Statement& Statement::bind(int idx, const std::string& v) {
  sqlite3_bind_text(stmt_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int idx, int64_t v) {
  sqlite3_bind_int64(stmt_, idx, v);
  return *this;
}
Statement& Statement::bind_null(int idx) {
  sqlite3_bind_null(stmt_, idx);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_error(db_, sql_);
}

Status Statement::run() {
  for (;;) {
    CRID_ASSIGN(bool row, step());
    if (!row) return Ok();
  }
}

std::string Statement::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}
int64_t Statement::integer(int col) const { return sqlite3_column_int64(stmt_, col); }
bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Error e = make_error(ErrorKind::kInternal, "opening metadata database {}: {}", path,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<Database> out(new Database(db, path));
  sqlite3_busy_timeout(db, 10000);
  // WAL + FULL: a commit is on disk before the call returns.
  CRID_TRY(out->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  // One reader now, so a database that cannot be read fails here.
  CRID_ASSIGN(sqlite3 * reader, out->take_reader());
  out->give_back_reader(reader);
  return out;
}

Result<sqlite3*> Database::take_reader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      sqlite3* r = idle_readers_.back();
      idle_readers_.pop_back();
      return r;
    }
  }
  // Read-only: a write prepared outside a transaction fails loudly instead
  // of slipping past the writer's lock.
  sqlite3* r = nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = make_error(ErrorKind::kInternal, "opening metadata database {} for reading: {}", path_,
                         r ? sqlite3_errmsg(r) : sqlite3_errstr(rc));
    sqlite3_close(r);
    return e;
  }
  sqlite3_busy_timeout(r, 10000);
  std::lock_guard lock(readers_mu_);
  all_readers_.push_back(r);
  return r;
}

void Database::give_back_reader(sqlite3* reader) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(reader);
}

Database::~Database() {
  for (sqlite3* r : all_readers_) sqlite3_close(r);
  sqlite3_close(db_);
}

Status Database::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorKind::kInternal, "metadata database: {}: {}", sql.substr(0, 60), msg);
  }
  return Ok();
}

Result<Statement> Database::prepare(const std::string& sql) {
  bool on_writer = t_in_transaction == this;
  sqlite3* conn = db_;
  if (!on_writer) {
    CRID_ASSIGN(conn, take_reader());
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    Error e = db_error(conn, "preparing " + sql);
    if (!on_writer) give_back_reader(conn);
    return e;
  }
  return Statement(conn, s, sql, on_writer ? nullptr : this);
}

Status Database::transaction(const std::function<Status()>& fn, Durability durability) {
  std::lock_guard lock(write_mu_);
  const Database* outer = t_in_transaction;
  if (outer == this) return fn();  // nested: part of the enclosing one
  // synchronous is a setting of the writer connection, read at COMMIT and
  // changeable only between transactions: set here, under write_mu_, each
  // time a transaction wants another level than the last one did.
  if (durability != writer_durability_) {
    CRID_TRY(exec(durability == Durability::kSynced ? "PRAGMA synchronous=FULL"
                                                     : "PRAGMA synchronous=NORMAL"));
    writer_durability_ = durability;
  }
  CRID_TRY(exec("BEGIN IMMEDIATE"));
  t_in_transaction = this;
  Status st = fn();
  t_in_transaction = outer;
  if (!st) {
    (void)exec("ROLLBACK");
    return st;
  }
  return exec("COMMIT");
}

}  // namespace crid::store
