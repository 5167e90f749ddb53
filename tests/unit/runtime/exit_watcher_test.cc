#include "runtime/exit_watcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "util/fs.h"
#include "util/ids.h"

namespace crid::runtime {
namespace {

class ExitWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-exitw-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)fs::remove_all(dir_); }

  // Writes an exit file the way conmon does: temp file, then rename.
  void write_exit(const std::string& id, const std::string& text) {
    std::string tmp = dir_ + "/" + id + ".AbC123";
    ASSERT_TRUE(fs::write_file_atomic(tmp, text));
    ASSERT_EQ(::rename(tmp.c_str(), (dir_ + "/" + id).c_str()), 0);
  }

  ExitWatcher::Callback recorder() {
    return [this](const ExitEvent& ev) {
      std::lock_guard lock(mu_);
      events_.push_back(ev);
      cv_.notify_all();
    };
  }

  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n; });
  }

  std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ExitEvent> events_;
};

TEST_F(ExitWatcherTest, DeliversRenamedExitFiles) {
  ExitWatcher w;
  ASSERT_TRUE(w.start(dir_, recorder()));
  std::string a = new_id(), b = new_id();
  write_exit(a, "0");
  write_exit(b, "137");
  ASSERT_TRUE(wait_for(2));
  w.stop();
  std::lock_guard lock(mu_);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].id, a);
  EXPECT_EQ(events_[0].code, 0);
  EXPECT_EQ(events_[1].id, b);
  EXPECT_EQ(events_[1].code, 137);
  EXPECT_GT(events_[1].finished_at.time_since_epoch().count(), 0);
}

TEST_F(ExitWatcherTest, ReplaysExitsThatHappenedBeforeStart) {
  std::string a = new_id();
  write_exit(a, "3");
  ExitWatcher w;
  ASSERT_TRUE(w.start(dir_, recorder()));
  ASSERT_TRUE(wait_for(1));
  std::lock_guard lock(mu_);
  EXPECT_EQ(events_[0].id, a);
  EXPECT_EQ(events_[0].code, 3);
}

TEST_F(ExitWatcherTest, IgnoresTempFilesAndForeignNames) {
  ExitWatcher w;
  ASSERT_TRUE(w.start(dir_, recorder()));
  ASSERT_TRUE(fs::write_file_atomic(dir_ + "/README", "not an exit"));
  ASSERT_TRUE(fs::write_file_atomic(dir_ + "/" + new_id() + ".tmp", "1"));
  std::string a = new_id();
  write_exit(a, "1");
  ASSERT_TRUE(wait_for(1));
  w.stop();
  std::lock_guard lock(mu_);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].id, a);
}

TEST_F(ExitWatcherTest, ReadExitFileReportsGarbage) {
  std::string a = new_id();
  ASSERT_TRUE(fs::write_file_atomic(dir_ + "/" + a, "exited"));
  auto r = read_exit_file(dir_, a);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(a), std::string::npos);
  auto missing = read_exit_file(dir_, new_id());
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace crid::runtime
