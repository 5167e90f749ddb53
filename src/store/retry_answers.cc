#include "store/retry_answers.h"

namespace crid::store {

namespace {
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS retry_answers (
  kind TEXT NOT NULL,
  name_key TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (kind, name_key)
))";
}  // namespace

Result<std::unique_ptr<RetryAnswers>> RetryAnswers::open(Database& db) {
  CRID_TRY_CTX(db.ensure_schema(kSchema), "creating the retry_answers table");
  return std::unique_ptr<RetryAnswers>(new RetryAnswers(db));
}

Status RetryAnswers::put(const std::string& kind, const std::string& name_key,
                         const std::string& id) {
  Status st = db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare("INSERT OR REPLACE INTO retry_answers (kind, name_key, id) "
                                    "VALUES (?1, ?2, ?3)"));
    return s.bind(1, kind).bind(2, name_key).bind(3, id).run();
  });
  if (!st) return st.error().wrap(fmt::format("keeping {} {} for the retry of {}", kind, id, name_key));
  return Ok();
}

Status RetryAnswers::remove(const std::string& kind, const std::string& name_key) {
  Status st = db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare("DELETE FROM retry_answers WHERE kind=?1 AND name_key=?2"));
    return s.bind(1, kind).bind(2, name_key).run();
  });
  if (!st) return st.error().wrap(fmt::format("dropping the retry answer of {} {}", kind, name_key));
  return Ok();
}

Result<std::map<std::string, std::string>> RetryAnswers::load(const std::string& kind) {
  CRID_ASSIGN(auto s, db_.prepare("SELECT name_key, id FROM retry_answers WHERE kind=?1"));
  s.bind(1, kind);
  std::map<std::string, std::string> out;
  for (;;) {
    CRID_ASSIGN(bool row, s.step());
    if (!row) break;
    out[s.text(0)] = s.text(1);
  }
  return out;
}

}  // namespace crid::store
