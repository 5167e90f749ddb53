#include "container/container_store.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "util/ids.h"

namespace crid::container {
namespace {

class ContainerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("crid-ctr-store-" + random_hex(6));
    std::filesystem::create_directories(dir_);
    auto db = store::Database::open(dir_ / "crid.db");
    ASSERT_TRUE(db.ok()) << db.error().message();
    db_ = std::move(db).value();
    auto s = ContainerStore::open(*db_);
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  static ContainerRecord sample(const std::string& id, const std::string& name) {
    ContainerRecord r;
    r.id = id;
    r.pod_id = "pod1";
    r.name = name;
    r.attempt = 2;
    r.created_ns = 11;
    r.image_name = "busybox";
    r.image_id = "sha256:abc";
    r.image_ref = "docker.io/library/busybox@sha256:def";
    r.labels = {{"a", "1"}};
    r.annotations = {{"b", "2"}};
    r.log_path = "/var/log/pods/x/c.log";
    r.pid = 42;
    r.runtime_handler = "crun";
    r.stop_signal = 10;
    r.mounts.push_back({"/data", "/host", true, true, oci::MountPropagation::kHostToContainer, false});
    r.resources.memory_limit_in_bytes = 1 << 20;
    r.resources.cpuset_cpus = "0-1";
    r.resources.hugepage_limits.push_back({"2MB", 4096});
    r.resources.unified = {{"memory.high", "100"}};
    r.user = {1000, 1001, {5, 6}};
    r.tty = true;
    r.privileged = true;
    return r;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<ContainerStore> store_;
};

TEST_F(ContainerStoreTest, RoundTripsEveryField) {
  ContainerRecord r = sample("c1", "web");
  ASSERT_TRUE(store_->insert(r).ok());
  r.state = ContainerState::kExited;
  r.exit_code = 137;
  r.reason = "OOMKilled";
  r.finished_ns = 99;
  ASSERT_TRUE(store_->update(r).ok());
  auto all = store_->list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const auto& g = all->front();
  EXPECT_EQ(g.state, ContainerState::kExited);
  EXPECT_EQ(g.exit_code, 137);
  EXPECT_EQ(g.reason, "OOMKilled");
  EXPECT_EQ(g.attempt, 2u);
  EXPECT_EQ(g.labels, r.labels);
  EXPECT_EQ(g.annotations, r.annotations);
  EXPECT_EQ(g.image_ref, r.image_ref);
  EXPECT_EQ(g.runtime_handler, "crun");
  EXPECT_EQ(g.stop_signal, 10);
  ASSERT_EQ(g.mounts.size(), 1u);
  EXPECT_EQ(g.mounts[0].propagation, oci::MountPropagation::kHostToContainer);
  EXPECT_TRUE(g.mounts[0].recursive_read_only);
  EXPECT_EQ(g.resources.memory_limit_in_bytes, 1 << 20);
  EXPECT_EQ(g.resources.cpuset_cpus, "0-1");
  ASSERT_EQ(g.resources.hugepage_limits.size(), 1u);
  EXPECT_EQ(g.resources.hugepage_limits[0].limit, 4096u);
  EXPECT_EQ(g.resources.unified, r.resources.unified);
  EXPECT_EQ(g.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_TRUE(g.tty);
  EXPECT_TRUE(g.privileged);
}

TEST_F(ContainerStoreTest, NameAndAttemptAreUniquePerPod) {
  ASSERT_TRUE(store_->insert(sample("c1", "web")).ok());
  auto st = store_->insert(sample("c2", "web"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(st.error().message().find("c1"), std::string::npos);
  auto other = sample("c3", "web");
  other.attempt = 3;
  EXPECT_TRUE(store_->insert(other).ok());
  ASSERT_TRUE(store_->remove("c1").ok());
  EXPECT_TRUE(store_->insert(sample("c2", "web")).ok());
  EXPECT_EQ(store_->list()->size(), 2u);
}

TEST(ContainerFilterTest, EverySetFieldMustMatch) {
  ContainerRecord r;
  r.id = "abcdef";
  r.pod_id = "123456";
  r.state = ContainerState::kRunning;
  r.labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(matches(r, {}));
  EXPECT_TRUE(matches(r, {"abc", "", std::nullopt, {}}));
  EXPECT_FALSE(matches(r, {"abd", "", std::nullopt, {}}));
  EXPECT_TRUE(matches(r, {"", "123", ContainerState::kRunning, {{"app", "web"}}}));
  EXPECT_FALSE(matches(r, {"", "124", std::nullopt, {}}));
  EXPECT_FALSE(matches(r, {"", "", ContainerState::kExited, {}}));
  EXPECT_FALSE(matches(r, {"", "", std::nullopt, {{"app", "db"}}}));
  EXPECT_FALSE(matches(r, {"", "", std::nullopt, {{"missing", ""}}}));
}

TEST(ExitReasonTest, OomBeatsTheCode) {
  EXPECT_EQ(exit_reason(0, false), "Completed");
  EXPECT_EQ(exit_reason(1, false), "Error");
  EXPECT_EQ(exit_reason(137, true), "OOMKilled");
}

}  // namespace
}  // namespace crid::container
