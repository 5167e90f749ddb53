#include "store/operation_journal.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "store/retry_answers.h"

namespace crid::store {
namespace {

class OperationJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-journal-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    journal_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A fresh connection, as a restarted daemon has.
  void reopen() {
    journal_.reset();
    db_.reset();
    auto db = Database::open(dir_ + "/crid.db");
    ASSERT_TRUE(db.ok()) << db.error().message();
    db_ = std::move(db).value();
    auto j = OperationJournal::open(*db_);
    ASSERT_TRUE(j.ok()) << j.error().message();
    journal_ = std::move(j).value();
  }
  // Runs `steps` in a child process on its own connection that then dies
  // without running a destructor: what a SIGKILLed daemon leaves.
  void in_a_daemon_that_dies(const std::function<void(OperationJournal&)>& steps) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto db = Database::open(dir_ + "/crid.db");
      if (!db) ::_exit(2);
      auto j = OperationJournal::open(**db);
      if (!j) ::_exit(3);
      steps(**j);
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  std::vector<PendingOperation> pending(const std::string& kind) {
    auto p = journal_->pending(kind);
    EXPECT_TRUE(p.ok()) << p.error().message();
    return p ? *p : std::vector<PendingOperation>{};
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<OperationJournal> journal_;
};

TEST_F(OperationJournalTest, AnOperationLeftUnfinishedIsReadBackWithItsStepsAndFacts) {
  in_a_daemon_that_dies([](OperationJournal& j) {
    auto op = j.begin("pod-create", "p1", {{"dir", "/run/x/p1"}});
    if (!op || !op->note("namespaces") || !op->note("pause", {{"pause_pid", 42}, {"pause_start", 7}}))
      ::_exit(4);
    ::_exit(0);  // killed here: never finished
  });
  reopen();
  auto ops = pending("pod-create");
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].id, "p1");
  EXPECT_EQ(ops[0].kind, "pod-create");
  EXPECT_EQ(ops[0].steps, (std::vector<std::string>{"namespaces", "pause"}));
  EXPECT_TRUE(ops[0].noted("pause"));
  EXPECT_FALSE(ops[0].noted("cni-add"));
  EXPECT_EQ(ops[0].detail.value("dir", ""), "/run/x/p1");
  EXPECT_EQ(ops[0].detail.value("pause_pid", 0), 42);
  EXPECT_EQ(ops[0].detail.value("pause_start", 0), 7);
  EXPECT_GT(ops[0].begun_ns, 0);
  EXPECT_TRUE(pending("container-create").empty()) << "kinds are apart";

  ASSERT_TRUE(journal_->forget("pod-create", "p1").ok());
  EXPECT_TRUE(pending("pod-create").empty());
  EXPECT_TRUE(journal_->forget("pod-create", "p1").ok()) << "forget is idempotent";
}

// Written (not fsynced) notes survive a daemon that dies: the kernel keeps
// what SQLite wrote, and the restarted daemon reads every step back.
TEST_F(OperationJournalTest, WrittenNotesOfADaemonThatDiesAreReadBack) {
  in_a_daemon_that_dies([](OperationJournal& j) {
    auto op = j.begin("pod-create", "p2", {{"name", "a_b_c_0"}}, Durability::kWritten);
    if (!op || !op->note("namespaces") || !op->note("pause-starting") ||
        !op->note("pause", {{"pause_pid", 43}}) || !op->note("cni-add"))
      ::_exit(4);
    ::_exit(0);  // killed here: never finished
  });
  reopen();
  auto ops = pending("pod-create");
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].id, "p2");
  EXPECT_EQ(ops[0].steps,
            (std::vector<std::string>{"namespaces", "pause-starting", "pause", "cni-add"}));
  EXPECT_EQ(ops[0].detail.value("pause_pid", 0), 43);
  EXPECT_EQ(ops[0].detail.value("name", ""), "a_b_c_0");

  // Finishing one (synced) removes its row as with synced notes.
  {
    auto op = journal_->begin("pod-create", "p3", nlohmann::json::object(), Durability::kWritten);
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(op->note("namespaces").ok());
    ASSERT_EQ(pending("pod-create").size(), 2u);
    ASSERT_TRUE(op->finish().ok());
  }
  reopen();
  ASSERT_EQ(pending("pod-create").size(), 1u);
  EXPECT_EQ(pending("pod-create")[0].id, "p2");
}

TEST_F(OperationJournalTest, FinishAndDestructionBothRemoveTheRow) {
  {
    auto op = journal_->begin("container-create", "c1");
    ASSERT_TRUE(op.ok());
    ASSERT_EQ(pending("container-create").size(), 1u);
    ASSERT_TRUE(op->finish().ok());
    EXPECT_TRUE(op->finish().ok()) << "finish is idempotent";
    EXPECT_FALSE(op->note("late").ok()) << "a note after finish is a bug, reported";
  }
  {
    auto op = journal_->begin("container-create", "c2");
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(op->note("rootfs").ok());
    // An early return (rollback) destroys it.
  }
  EXPECT_TRUE(pending("container-create").empty());
}

TEST_F(OperationJournalTest, FinishWithCommitsTheObjectsRowAndTheFinishTogether) {
  ASSERT_TRUE(db_->exec("CREATE TABLE things (id TEXT PRIMARY KEY)").ok());
  auto insert = [this](const std::string& id) -> Status {
    CRID_ASSIGN(auto s, db_->prepare("INSERT INTO things (id) VALUES (?1)"));
    return s.bind(1, id).run();
  };
  auto count_things = [this] {
    auto s = db_->prepare("SELECT count(*) FROM things");
    EXPECT_TRUE(s.ok() && *s->step());
    return s->integer(0);
  };
  {
    auto op = journal_->begin("thing-create", "t1");
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(op->finish_with([&] { return insert("t1"); }).ok());
    EXPECT_TRUE(pending("thing-create").empty());
    EXPECT_EQ(count_things(), 1);
  }
  {
    auto op = journal_->begin("thing-create", "t1");
    ASSERT_TRUE(op.ok());
    // The object's write fails (duplicate): nothing of it lands and the
    // operation stays open for its rollback.
    Status st = op->finish_with([&] { return insert("t1"); });
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(pending("thing-create").size(), 1u);
    EXPECT_EQ(count_things(), 1);
  }
  EXPECT_TRUE(pending("thing-create").empty()) << "the rolled-back operation finished on return";
}

TEST_F(OperationJournalTest, BeginReplacesALeftoverOfTheSameObjectAndRefusesANonObjectDetail) {
  in_a_daemon_that_dies([](OperationJournal& j) {
    auto op = j.begin("k", "x", {{"a", 1}});
    if (!op) ::_exit(4);
    ::_exit(0);  // killed with it open
  });
  {
    auto op = journal_->begin("k", "x", {{"b", 2}});
    ASSERT_TRUE(op.ok());
    auto ops = pending("k");
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_FALSE(ops[0].detail.contains("a"));
    EXPECT_EQ(ops[0].detail.value("b", 0), 2);
  }
  auto bad = journal_->begin("k", "y", nlohmann::json::array());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("k y"), std::string::npos) << bad.error().message();
}

TEST_F(OperationJournalTest, RetryAnswersSurviveAReopen) {
  auto answers = RetryAnswers::open(*db_);
  ASSERT_TRUE(answers.ok());
  ASSERT_TRUE((*answers)->put("pod", "web_default_u1_0", "p1").ok());
  ASSERT_TRUE((*answers)->put("container", "p1/app/0", "c1").ok());
  ASSERT_TRUE((*answers)->put("pod", "web_default_u1_0", "p2").ok()) << "a later answer replaces";
  answers->reset();
  reopen();
  auto again = RetryAnswers::open(*db_);
  ASSERT_TRUE(again.ok());
  auto pods = (*again)->load("pod");
  ASSERT_TRUE(pods.ok());
  EXPECT_EQ(*pods, (std::map<std::string, std::string>{{"web_default_u1_0", "p2"}}));
  ASSERT_TRUE((*again)->remove("pod", "web_default_u1_0").ok());
  ASSERT_TRUE((*again)->remove("pod", "web_default_u1_0").ok());
  EXPECT_TRUE((*again)->load("pod")->empty());
  EXPECT_EQ((*again)->load("container")->size(), 1u);
}

}  // namespace
}  // namespace crid::store
