// CniInvoker against fake plugins (shell scripts that record their
// environment and stdin): the protocol side of CNI without root. The real
// plugins are exercised by tests/integration/pod_sandbox_test.cc.
#include "network/cni_invoker.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/fs.h"

namespace crid::network {
namespace {

using json = nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const char* kResultA = R"({"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/ns"}], "ips": [{"address": "10.9.0.7/24", "interface": 0}]})";
const char* kResultB = R"({"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/ns"}], "ips": [{"address": "10.9.0.7/24", "interface": 0}], "dns": {"nameservers": ["10.9.0.1"]}})";

class CniInvokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-cni-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bin_ = dir_ + "/bin";
    conf_ = dir_ + "/conf";
    std::filesystem::create_directories(bin_);
    std::filesystem::create_directories(conf_);
    Config cfg;
    cfg.cni_conf_dir = conf_;
    cfg.cni_bin_dirs = {dir_ + "/empty", bin_};
    cfg.cni_plugin_timeout = std::chrono::milliseconds(20000);
    holder_ = std::make_unique<ConfigHolder>(cfg);
    // A plugin that logs "<type> <command>", keeps its stdin and env, and
    // on ADD prints the result given to it.
    plugin("fake-a", std::string("echo '") + kResultA + "'");
    plugin("fake-b", std::string("echo '") + kResultB + "'");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void plugin(const std::string& type, const std::string& on_add, const std::string& on_del = "") {
    std::string path = bin_ + "/" + type;
    std::ofstream(path) << "#!/bin/sh\n"
                        << "echo \"" << type << " $CNI_COMMAND\" >> " << dir_ << "/log\n"
                        << "cat > " << dir_ << "/" << type << ".$CNI_COMMAND.stdin\n"
                        << "env | grep ^CNI_ | sort > " << dir_ << "/" << type
                        << ".$CNI_COMMAND.env\n"
                        << "if [ \"$CNI_COMMAND\" = ADD ]; then\n" << on_add << "\nfi\n"
                        << "if [ \"$CNI_COMMAND\" = DEL ]; then\n:\n" << on_del << "\nfi\n";
    ::chmod(path.c_str(), 0755);
  }
  void conflist(const std::string& version, const std::string& plugins) {
    std::ofstream(conf_ + "/10-test.conflist")
        << R"({"cniVersion": ")" << version << R"(", "name": "testnet", "plugins": [)"
        << plugins << "]}";
  }
  PodNetworkSpec pod() {
    PodNetworkSpec p;
    p.pod_id = "aaaa1111";
    p.netns = "/run/crid/pods/aaaa1111/ns/net";
    p.pod_name = "web";
    p.pod_namespace = "default";
    p.pod_uid = "uid-1";
    p.port_mappings = {{"tcp", 80, 8080, ""}, {"udp", 53, 5353, "127.0.0.1"}};
    return p;
  }
  std::string log() { return slurp(dir_ + "/log"); }
  json stdin_of(const std::string& type, const std::string& cmd) {
    return json::parse(slurp(dir_ + "/" + type + "." + cmd + ".stdin"));
  }
  std::unique_ptr<CniInvoker> invoker() {
    return std::make_unique<CniInvoker>(*holder_, dir_ + "/cache");
  }

  std::string dir_, bin_, conf_;
  std::unique_ptr<ConfigHolder> holder_;
};

TEST_F(CniInvokerTest, AddRunsThePluginsInOrderChainingPrevResult) {
  conflist("1.0.0", R"({"type": "fake-a", "ipam": {"type": "x"}},
                       {"type": "fake-b", "capabilities": {"portMappings": true}})");
  auto inv = invoker();
  auto r = inv->add(pod());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(log(), "fake-a ADD\nfake-b ADD\n");
  EXPECT_EQ(r->network_name, "testnet");
  EXPECT_EQ(r->result.pod_ips(), std::vector<std::string>{"10.9.0.7"});
  EXPECT_EQ(r->raw_result, json::parse(kResultB));

  json a = stdin_of("fake-a", "ADD");
  EXPECT_EQ(a["name"], "testnet");
  EXPECT_EQ(a["cniVersion"], "1.0.0");
  EXPECT_EQ(a["ipam"]["type"], "x");
  EXPECT_FALSE(a.contains("prevResult"));
  EXPECT_FALSE(a.contains("runtimeConfig"));  // declares no capability
  json b = stdin_of("fake-b", "ADD");
  EXPECT_EQ(b["prevResult"], json::parse(kResultA));
  EXPECT_EQ(b["runtimeConfig"]["portMappings"],
            json::parse(R"([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                 {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"}])"));

  std::string env = slurp(dir_ + "/fake-a.ADD.env");
  EXPECT_NE(env.find("CNI_COMMAND=ADD\n"), std::string::npos);
  EXPECT_NE(env.find("CNI_CONTAINERID=aaaa1111\n"), std::string::npos);
  EXPECT_NE(env.find("CNI_NETNS=/run/crid/pods/aaaa1111/ns/net\n"), std::string::npos);
  EXPECT_NE(env.find("CNI_IFNAME=eth0\n"), std::string::npos);
  EXPECT_NE(env.find("CNI_PATH=" + dir_ + "/empty:" + bin_ + "\n"), std::string::npos);
  EXPECT_NE(env.find("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                     "K8S_POD_INFRA_CONTAINER_ID=aaaa1111;K8S_POD_UID=uid-1\n"),
            std::string::npos)
      << env;

  auto cached = inv->cached("aaaa1111");
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ((*cached)["result"], json::parse(kResultB));
}

TEST_F(CniInvokerTest, DelReplaysTheCachedListInReverseAfterRestartAndConfChange) {
  conflist("1.0.0", R"({"type": "fake-a"}, {"type": "fake-b"})");
  ASSERT_TRUE(invoker()->add(pod()).ok());
  std::filesystem::remove(conf_ + "/10-test.conflist");
  conflist("1.0.0", R"({"type": "fake-c-not-installed"})");
  auto restarted = invoker();
  ASSERT_TRUE(restarted->del("aaaa1111").ok());
  EXPECT_EQ(log(), "fake-a ADD\nfake-b ADD\nfake-b DEL\nfake-a DEL\n");
  json del_a = stdin_of("fake-a", "DEL");
  EXPECT_EQ(del_a["prevResult"], json::parse(kResultB));
  std::string env = slurp(dir_ + "/fake-a.DEL.env");
  EXPECT_NE(env.find("CNI_NETNS=/run/crid/pods/aaaa1111/ns/net\n"), std::string::npos);
  EXPECT_NE(env.find("K8S_POD_NAME=web"), std::string::npos);
  EXPECT_FALSE(restarted->cached("aaaa1111").has_value());
  // Nothing cached: DEL is a no-op.
  EXPECT_TRUE(restarted->del("aaaa1111").ok());
  EXPECT_EQ(log(), "fake-a ADD\nfake-b ADD\nfake-b DEL\nfake-a DEL\n");
}

TEST_F(CniInvokerTest, DelOfSpec031CarriesNoPrevResult) {
  conflist("0.3.1", R"({"type": "fake-a"})");
  ASSERT_TRUE(invoker()->add(pod()).ok());
  ASSERT_TRUE(invoker()->del("aaaa1111").ok());
  EXPECT_FALSE(stdin_of("fake-a", "DEL").contains("prevResult"));
  EXPECT_EQ(stdin_of("fake-a", "DEL")["cniVersion"], "0.3.1");
}

TEST_F(CniInvokerTest, FailedAddUndoesThePluginsThatRanAndNamesTheFailure) {
  plugin("fake-fail",
         R"(echo '{"cniVersion": "1.0.0", "code": 11, "msg": "no addresses left", "details": "range 10.9.0.0/24 is full"}'; exit 1)");
  conflist("1.0.0", R"({"type": "fake-a"}, {"type": "fake-fail"}, {"type": "fake-b"})");
  auto inv = invoker();
  auto r = inv->add(pod());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("CNI plugin fake-fail ADD failed"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("no addresses left: range 10.9.0.0/24 is full (code 11)"),
            std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("testnet"), std::string::npos);
  // fake-b never ran ADD, so it gets no DEL; the failing one does.
  EXPECT_EQ(log(), "fake-a ADD\nfake-fail ADD\nfake-fail DEL\nfake-a DEL\n");
  EXPECT_FALSE(inv->cached("aaaa1111").has_value());
}

TEST_F(CniInvokerTest, MissingPluginIsNamedWithTheSearchPath) {
  conflist("1.0.0", R"({"type": "fake-a"}, {"type": "no-such-plugin"})");
  auto inv = invoker();
  auto r = inv->add(pod());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("\"no-such-plugin\""), std::string::npos);
  EXPECT_NE(r.error().message().find(bin_), std::string::npos);
  EXPECT_EQ(log(), "fake-a ADD\nfake-a DEL\n");
  EXPECT_FALSE(inv->cached("aaaa1111").has_value());
}

TEST_F(CniInvokerTest, PluginTypeCannotBeAPath) {
  conflist("1.0.0", R"({"type": "../../bin/sh"})");
  auto r = invoker()->add(pod());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST_F(CniInvokerTest, APluginThatHangsIsKilledAtTheTimeout) {
  plugin("fake-hang", "sleep 30");
  Config cfg = *holder_->get();
  cfg.cni_plugin_timeout = std::chrono::milliseconds(300);
  holder_->set(cfg);
  conflist("1.0.0", R"({"type": "fake-hang"})");
  auto r = invoker()->add(pod());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kDeadlineExceeded) << r.error().message();
  EXPECT_NE(r.error().message().find("fake-hang"), std::string::npos);
}

TEST_F(CniInvokerTest, AddWithoutANetworkIsAFailedPrecondition) {
  auto r = invoker()->add(pod());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kFailedPrecondition);
  EXPECT_NE(r.error().message().find(conf_), std::string::npos);
}

TEST_F(CniInvokerTest, CheckSendsTheCachedResultFrom040On) {
  conflist("0.4.0", R"({"type": "fake-a"}, {"type": "fake-b"})");
  auto inv = invoker();
  ASSERT_TRUE(inv->add(pod()).ok());
  ASSERT_TRUE(inv->check("aaaa1111").ok());
  EXPECT_EQ(log(), "fake-a ADD\nfake-b ADD\nfake-a CHECK\nfake-b CHECK\n");
  EXPECT_EQ(stdin_of("fake-a", "CHECK")["prevResult"], json::parse(kResultB));
  EXPECT_EQ(inv->check("unknown").error().kind(), ErrorKind::kFailedPrecondition);
}

TEST(PluginStdin, PassesOnlyDeclaredCapabilities) {
  CniNetwork net{"f", "n", "1.0.0", {}};
  json plugin = json::parse(R"({"type": "x", "capabilities": {"bandwidth": true, "dns": true,
      "ips": true, "ipRanges": true, "portMappings": false}, "runtimeConfig": {"stale": 1}})");
  PodNetworkSpec pod;
  pod.port_mappings = {{"tcp", 1, 2, ""}};
  pod.bandwidth = {{"ingressRate", 1000}};
  pod.dns = {{"servers", {"1.1.1.1"}}};
  pod.ips = {"10.0.0.9"};
  pod.pod_cidr = "10.0.0.0/24";
  json out = plugin_stdin(net, plugin, pod, json());
  EXPECT_EQ(out["runtimeConfig"], json::parse(R"({"bandwidth": {"ingressRate": 1000},
      "dns": {"servers": ["1.1.1.1"]}, "ips": ["10.0.0.9"],
      "ipRanges": [[{"subnet": "10.0.0.0/24"}]]})"));
  EXPECT_FALSE(out.contains("prevResult"));
}

}  // namespace
}  // namespace crid::network
