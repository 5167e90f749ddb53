#include "sandbox/sandbox_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace crid::sandbox {
namespace {

class SandboxStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-podstore-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = store::Database::open(dir_ + "/crid.db");
    ASSERT_TRUE(db.ok()) << db.error().message();
    db_ = std::move(db).value();
    auto s = SandboxStore::open(*db_);
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(s).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Pod pod(const std::string& id, const std::string& name, uint32_t attempt = 0) {
    Pod p;
    p.id = id;
    p.config.metadata = {name, "uid-" + name, "default", attempt};
    p.config.hostname = name;
    p.config.labels = {{"app", name}};
    p.config.annotations = {{"note", "x\"y"}};
    p.config.sysctls = {{"net.ipv4.ip_forward", "1"}};
    p.config.dns = {{"10.0.0.10"}, {"svc"}, {"ndots:2"}};
    p.config.port_mappings = {{"udp", 53, 5353, "127.0.0.1"}};
    p.config.namespaces.network = NamespaceMode::kNode;
    p.config.run_as_user = 1000;
    p.config.supplemental_groups = {5, 6};
    p.created_at_ns = 1234567890123;
    p.runtime_handler = "crun";
    p.cgroup_parent = "/kubepods/pod1";
    p.ns = {"/run/x/net", "/run/x/ipc", "/run/x/uts"};
    p.ips = {"10.1.0.2", "fd00::2"};
    p.cni_result = R"({"cniVersion":"1.0.0"})";
    p.network_name = "net1";
    p.infra = {4242, 987654321};
    return p;
  }

  std::string dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<SandboxStore> store_;
};

TEST_F(SandboxStoreTest, RoundTripsEveryField) {
  Pod in = pod("a1", "web");
  ASSERT_TRUE(store_->insert(in).ok());
  auto out = store_->get("a1");
  ASSERT_TRUE(out.ok() && out->has_value());
  const Pod& p = **out;
  EXPECT_EQ(p.config.metadata.name, "web");
  EXPECT_EQ(p.config.metadata.uid, "uid-web");
  EXPECT_EQ(p.config.annotations, in.config.annotations);
  EXPECT_EQ(p.config.sysctls, in.config.sysctls);
  EXPECT_EQ(p.config.dns, in.config.dns);
  EXPECT_EQ(p.config.port_mappings, in.config.port_mappings);
  EXPECT_EQ(p.config.namespaces.network, NamespaceMode::kNode);
  EXPECT_EQ(p.config.run_as_user, 1000);
  EXPECT_EQ(p.config.supplemental_groups, in.config.supplemental_groups);
  EXPECT_EQ(p.created_at_ns, in.created_at_ns);
  EXPECT_EQ(p.runtime_handler, "crun");
  EXPECT_EQ(p.cgroup_parent, "/kubepods/pod1");
  EXPECT_EQ(p.ns.ipc, "/run/x/ipc");
  EXPECT_EQ(p.ips, in.ips);
  EXPECT_EQ(p.cni_result, in.cni_result);
  EXPECT_EQ(p.state, PodState::kReady);
  EXPECT_EQ(p.infra.pid, 4242);
  EXPECT_EQ(p.infra.start_time, 987654321u);
}

TEST_F(SandboxStoreTest, NameQuadrupleIsUniqueAndTheErrorNamesTheHolder) {
  ASSERT_TRUE(store_->insert(pod("a1", "web")).ok());
  auto dup = store_->insert(pod("b2", "web"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(dup.error().message().find("a1"), std::string::npos);
  EXPECT_TRUE(store_->insert(pod("c3", "web", 1)).ok());
  auto holder = store_->find_by_name(pod("x", "web", 1).config.metadata);
  ASSERT_TRUE(holder.ok() && holder->has_value());
  EXPECT_EQ(**holder, "c3");
}

TEST_F(SandboxStoreTest, UpdateListAndRemove) {
  ASSERT_TRUE(store_->insert(pod("a1", "web")).ok());
  Pod b = pod("b2", "db");
  b.created_at_ns += 1;
  ASSERT_TRUE(store_->insert(b).ok());
  b.state = PodState::kNotReady;
  b.ns = {};
  b.infra = {};
  ASSERT_TRUE(store_->update(b).ok());
  auto all = store_->list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id, "b2");
  EXPECT_EQ((*all)[1].state, PodState::kNotReady);
  EXPECT_EQ((*all)[1].ns.net, "");
  EXPECT_TRUE((*all)[1].infra.empty());
  ASSERT_TRUE(store_->remove("a1").ok());
  ASSERT_TRUE(store_->remove("a1").ok());
  EXPECT_FALSE(store_->get("a1")->has_value());
  EXPECT_EQ(store_->list()->size(), 1u);
}

// A pods table from before the pause columns gets them, its rows reading
// as "no pause".
TEST(SandboxStoreMigration, OldTableGainsThePauseColumns) {
  char tmpl[] = "/tmp/crid-podstore-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  {
    auto db = store::Database::open(dir + "/crid.db");
    ASSERT_TRUE(db.ok());
    PodConfig config;
    config.metadata = {"n", "u", "ns", 0};
    ASSERT_TRUE((*db)->exec(R"(CREATE TABLE pods (id TEXT PRIMARY KEY, name TEXT NOT NULL,
        namespace TEXT NOT NULL, uid TEXT NOT NULL, attempt INTEGER NOT NULL,
        state INTEGER NOT NULL, created INTEGER NOT NULL, config TEXT NOT NULL,
        netns TEXT NOT NULL, ipcns TEXT NOT NULL, utsns TEXT NOT NULL, ips TEXT NOT NULL,
        cni_result TEXT NOT NULL, network TEXT NOT NULL, runtime_handler TEXT NOT NULL,
        cgroup_parent TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL,
        UNIQUE (name, namespace, uid, attempt));
      INSERT INTO pods VALUES ('old1', 'n', 'ns', 'u', 0, 0, 1, ')" + config_to_json(config) +
                            R"(', '', '', '', '[]', '', '', 'runc', '', '{}', '{}'))").ok());
    auto store = SandboxStore::open(**db);
    ASSERT_TRUE(store.ok()) << store.error().message();
    auto old = (*store)->get("old1");
    ASSERT_TRUE(old.ok() && old->has_value()) << (old.ok() ? "" : old.error().message());
    EXPECT_TRUE((**old).infra.empty());
    Pod p = **old;
    p.infra = {77, 88};
    ASSERT_TRUE((*store)->update(p).ok());
  }
  auto db = store::Database::open(dir + "/crid.db");  // reopening migrates nothing twice
  ASSERT_TRUE(db.ok());
  auto store = SandboxStore::open(**db);
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_EQ((*(*store)->get("old1"))->infra.pid, 77);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crid::sandbox
