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
    : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), sql_(std::move(o.sql_)) {}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
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
  // Read-only: a write prepared outside a transaction fails loudly instead
  // of slipping past the writer's lock.
  rc = sqlite3_open_v2(path.c_str(), &out->reader_, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                       nullptr);
  if (rc != SQLITE_OK) {
    Error e = make_error(ErrorKind::kInternal, "opening metadata database {} for reading: {}", path,
                         out->reader_ ? sqlite3_errmsg(out->reader_) : sqlite3_errstr(rc));
    sqlite3_close(out->reader_);
    out->reader_ = nullptr;
    return e;
  }
  sqlite3_busy_timeout(out->reader_, 10000);
  return out;
}

Database::~Database() {
  if (reader_) sqlite3_close(reader_);
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
  sqlite3* conn = t_in_transaction == this || !reader_ ? db_ : reader_;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    return db_error(conn, "preparing " + sql);
  return Statement(conn, s, sql);
}

Status Database::transaction(const std::function<Status()>& fn) {
  std::lock_guard lock(write_mu_);
  const Database* outer = t_in_transaction;
  if (outer == this) return fn();  // nested: part of the enclosing one
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
