#include "store/database.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <thread>

namespace crid::store {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-db-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = Database::open(dir_ + "/crid.db");
    ASSERT_TRUE(db.ok()) << db.error().message();
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->ensure_schema("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)").ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  Status insert(const std::string& k) {
    return db_->transaction([&]() -> Status {
      CRID_ASSIGN(auto s, db_->prepare("INSERT INTO t (k) VALUES (?)"));
      return s.bind(1, k).run();
    });
  }
  bool present(const std::string& k) {
    auto s = db_->prepare("SELECT 1 FROM t WHERE k = ?");
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return false;
    s->bind(1, k);
    auto row = s->step();
    return row.ok() && *row;
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

// A query still open elsewhere (another thread listing, say) must not pin
// the snapshot every later query sees: a commit made after it began is
// visible to a query that begins after the commit.
TEST_F(DatabaseTest, AQueryBegunAfterACommitSeesItWhileAnOlderQueryIsOpen) {
  ASSERT_TRUE(insert("a").ok());
  ASSERT_TRUE(insert("b").ok());
  auto listing = db_->prepare("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(listing.ok());
  auto first = listing->step();
  ASSERT_TRUE(first.ok() && *first);  // its read snapshot is now open
  EXPECT_EQ(listing->text(0), "a");

  ASSERT_TRUE(insert("new").ok());
  EXPECT_TRUE(present("new")) << "a query begun after the commit missed it";

  // The older query goes on in its own snapshot, untouched.
  auto second = listing->step();
  ASSERT_TRUE(second.ok() && *second);
  EXPECT_EQ(listing->text(0), "b");
  auto end = listing->step();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end) << "the older query saw a row committed after it began";
}

TEST_F(DatabaseTest, ReadersAreReusedNotOpenedPerQuery) {
  ASSERT_TRUE(insert("a").ok());
  auto fds = [] {
    size_t n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(present("a"));
  size_t before = fds();
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(present("a"));
  EXPECT_EQ(fds(), before);
}

TEST_F(DatabaseTest, AWritePreparedOutsideATransactionIsRefused) {
  auto s = db_->prepare("INSERT INTO t (k) VALUES ('x')");
  // Refused at prepare or at run: the reader is read-only either way.
  if (s.ok()) EXPECT_FALSE(s->run().ok());
  EXPECT_FALSE(present("x"));
}

TEST_F(DatabaseTest, ConcurrentQueriesFromManyThreadsAllSeeTheirOwnCommits) {
  std::vector<std::thread> threads;
  std::atomic<int> missed{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string k = std::to_string(t) + "-" + std::to_string(i);
        if (!insert(k).ok() || !present(k)) ++missed;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(missed.load(), 0);
}

}  // namespace
// The level a transaction asks for is the writer's while it commits, and
// only then: a synced transaction after a written one is synced again.
TEST_F(DatabaseTest, ATransactionCommitsAtTheDurabilityItAsksForAndOnlyIt) {
  // PRAGMA synchronous read on the writer: 2 is FULL, 1 is NORMAL.
  auto level_inside = [&](Durability d) {
    int64_t level = -1;
    Status st = db_->transaction([&]() -> Status {
      CRID_ASSIGN(auto s, db_->prepare("PRAGMA synchronous"));
      CRID_ASSIGN(bool row, s.step());
      if (row) level = s.integer(0);
      return Ok();
    }, d);
    EXPECT_TRUE(st.ok()) << st.error().message();
    return level;
  };
  EXPECT_EQ(level_inside(Durability::kSynced), 2);
  EXPECT_EQ(level_inside(Durability::kWritten), 1);
  EXPECT_EQ(level_inside(Durability::kWritten), 1);
  EXPECT_EQ(level_inside(Durability::kSynced), 2);
  // A nested transaction is part of the outer one, whatever it asks.
  int64_t nested = -1;
  ASSERT_TRUE(db_->transaction([&]() -> Status {
    return db_->transaction([&]() -> Status {
      CRID_ASSIGN(auto s, db_->prepare("PRAGMA synchronous"));
      CRID_ASSIGN(bool row, s.step());
      if (row) nested = s.integer(0);
      return Ok();
    }, Durability::kWritten);
  }).ok());
  EXPECT_EQ(nested, 2);
}

// A written (not fsynced) commit is a commit: other connections see it, and
// so does the database opened again.
TEST_F(DatabaseTest, AWrittenCommitIsSeenByReadersAndAfterAReopen) {
  ASSERT_TRUE(db_->transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_->prepare("INSERT INTO t (k) VALUES ('written')"));
    return s.run();
  }, Durability::kWritten).ok());
  EXPECT_TRUE(present("written"));
  // A failed written transaction leaves nothing.
  EXPECT_FALSE(db_->transaction([&]() -> Status {
    CRID_ASSIGN(auto s, db_->prepare("INSERT INTO t (k) VALUES ('rolled-back')"));
    CRID_TRY(s.run());
    return make_error(ErrorKind::kInternal, "fails after its insert");
  }, Durability::kWritten).ok());
  EXPECT_FALSE(present("rolled-back"));
  db_.reset();
  auto db = Database::open(dir_ + "/crid.db");
  ASSERT_TRUE(db.ok()) << db.error().message();
  db_ = std::move(db).value();
  EXPECT_TRUE(present("written"));
  EXPECT_FALSE(present("rolled-back"));
}

}  // namespace crid::store
