#include "store/operation_journal.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "util/clock.h"

namespace crid::store {

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS operations (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  begun INTEGER NOT NULL,
  detail TEXT NOT NULL,
  steps TEXT NOT NULL,
  PRIMARY KEY (kind, id)
))";

}  // namespace

bool PendingOperation::noted(const std::string& step) const {
  return std::find(steps.begin(), steps.end(), step) != steps.end();
}

Result<std::unique_ptr<OperationJournal>> OperationJournal::open(Database& db) {
  CRID_TRY_CTX(db.ensure_schema(kSchema), "creating the operations table");
  return std::unique_ptr<OperationJournal>(new OperationJournal(db));
}

Result<OperationJournal::Operation> OperationJournal::begin(const std::string& kind,
                                                            const std::string& id,
                                                            nlohmann::json detail,
                                                            Durability notes) {
  if (!detail.is_object())
    return make_error(ErrorKind::kInternal, "journal: the detail of {} {} is not an object", kind, id);
  Status st = db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare("INSERT OR REPLACE INTO operations (kind, id, begun, detail, "
                                    "steps) VALUES (?1, ?2, ?3, ?4, '[]')"));
    return s.bind(1, kind).bind(2, id).bind(3, now_ns()).bind(4, detail.dump()).run();
  }, notes);
  if (!st) return st.error().wrap(fmt::format("journal: beginning {} {}", kind, id));
  return Operation(&db_, kind, id, std::move(detail), notes);
}

OperationJournal::Operation::Operation(Operation&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)),
      kind_(std::move(o.kind_)),
      id_(std::move(o.id_)),
      detail_(std::move(o.detail_)),
      steps_(std::move(o.steps_)),
      notes_(o.notes_) {}

OperationJournal::Operation::~Operation() {
  if (!db_) return;
  if (auto st = finish(); !st)
    spdlog::error("[journal {} {}] {}", kind_, id_, st.error().message());
}

Status OperationJournal::Operation::note(const std::string& step, const nlohmann::json& facts) {
  if (!db_)
    return make_error(ErrorKind::kInternal, "journal: {} {} noted '{}' after it finished", kind_,
                      id_, step);
  steps_.push_back(step);
  if (facts.is_object()) detail_.update(facts);
  nlohmann::json steps = steps_;
  Status st = db_->transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_->prepare("UPDATE operations SET detail=?3, steps=?4 WHERE kind=?1 AND id=?2"));
    return s.bind(1, kind_).bind(2, id_).bind(3, detail_.dump()).bind(4, steps.dump()).run();
  }, notes_);
  if (!st) return st.error().wrap(fmt::format("journal: {} {}: noting '{}'", kind_, id_, step));
  return Ok();
}

Status OperationJournal::Operation::finish_with(const std::function<Status()>& final_write) {
  if (!db_) {
    if (final_write)
      return make_error(ErrorKind::kInternal, "journal: {} {} finished twice", kind_, id_);
    return Ok();
  }
  Database* db = db_;
  Status st = db->transaction([&]() -> Status {
    if (final_write) CRID_TRY(final_write());
    CRID_ASSIGN(auto s, db->prepare("DELETE FROM operations WHERE kind=?1 AND id=?2"));
    return s.bind(1, kind_).bind(2, id_).run();
  });
  if (!st) return st;
  db_ = nullptr;
  return Ok();
}

Result<std::vector<PendingOperation>> OperationJournal::pending(const std::string& kind) {
  CRID_ASSIGN(auto s, db_.prepare("SELECT id, begun, detail, steps FROM operations WHERE kind=?1 "
                                  "ORDER BY begun"));
  s.bind(1, kind);
  std::vector<PendingOperation> out;
  for (;;) {
    CRID_ASSIGN(bool row, s.step());
    if (!row) break;
    PendingOperation op;
    op.kind = kind;
    op.id = s.text(0);
    op.begun_ns = s.integer(1);
    // A row is written whole by one statement, so it parses; a damaged one
    // still names its object, which is what recovery needs most.
    op.detail = nlohmann::json::parse(s.text(2), nullptr, false);
    if (!op.detail.is_object()) op.detail = nlohmann::json::object();
    auto steps = nlohmann::json::parse(s.text(3), nullptr, false);
    if (steps.is_array())
      for (auto& step : steps)
        if (step.is_string()) op.steps.push_back(step.get<std::string>());
    out.push_back(std::move(op));
  }
  return out;
}

Status OperationJournal::forget(const std::string& kind, const std::string& id) {
  return db_.transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_.prepare("DELETE FROM operations WHERE kind=?1 AND id=?2"));
    return s.bind(1, kind).bind(2, id).run();
  });
}

}  // namespace crid::store
