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
  ASSERT_TRUE(store_->update(b).ok());
  auto all = store_->list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id, "b2");
  EXPECT_EQ((*all)[1].state, PodState::kNotReady);
  EXPECT_EQ((*all)[1].ns.net, "");
  ASSERT_TRUE(store_->remove("a1").ok());
  ASSERT_TRUE(store_->remove("a1").ok());
  EXPECT_FALSE(store_->get("a1")->has_value());
  EXPECT_EQ(store_->list()->size(), 1u);
}

}  // namespace
}  // namespace crid::sandbox
