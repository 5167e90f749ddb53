// The daemon's foundation: socket, lock, signals, Version/Status/RuntimeConfig,
// UNIMPLEMENTED answers, and bad start-up input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "support/crid_process.h"

namespace crid::testing {
namespace {

const char* kBridgeConflist = R"({
  "cniVersion": "1.0.0", "name": "crid-test",
  "plugins": [{"type": "bridge", "bridge": "cridtest0", "ipam": {"type": "host-local",
    "ranges": [[{"subnet": "10.233.0.0/24"}]]}}]
})";

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    std::string err;
    ASSERT_TRUE(crid.start(&err)) << err;
  }
  CridProcess crid;
};

TEST_F(DaemonTest, VersionNamesCridAndApiV1) {
  v1::VersionResponse resp;
  auto st = crid.runtime().Version(call_context().get(), v1::VersionRequest(), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.runtime_name(), "crid");
  EXPECT_EQ(resp.runtime_api_version(), "v1");
  EXPECT_EQ(resp.runtime_version(), CRID_VERSION);
}

const v1::RuntimeCondition* condition(const v1::StatusResponse& r, const std::string& type) {
  for (auto& c : r.status().conditions())
    if (c.type() == type) return &c;
  return nullptr;
}

TEST_F(DaemonTest, NetworkReadyFollowsTheCniConfDir) {
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  ASSERT_TRUE(crid.runtime().Status(call_context().get(), req, &resp).ok());
  auto* rt = condition(resp, "RuntimeReady");
  auto* net = condition(resp, "NetworkReady");
  ASSERT_TRUE(rt && net);
  EXPECT_TRUE(rt->status()) << rt->message();
  EXPECT_FALSE(net->status());
  EXPECT_EQ(net->reason(), "NetworkPluginNotReady");
  EXPECT_NE(net->message().find(crid.cni_conf_dir()), std::string::npos);
  ASSERT_TRUE(resp.info().count("config"));
  EXPECT_NE(resp.info().at("config").find(crid.root()), std::string::npos);

  // A broken file is skipped and named; a valid conflist makes it ready.
  crid.dir().write("cni/05-broken.conflist", "{ not json");
  resp.Clear();
  ASSERT_TRUE(crid.runtime().Status(call_context().get(), req, &resp).ok());
  EXPECT_FALSE(condition(resp, "NetworkReady")->status());
  EXPECT_NE(condition(resp, "NetworkReady")->message().find("05-broken.conflist"),
            std::string::npos);

  crid.dir().write("cni/10-bridge.conflist", kBridgeConflist);
  resp.Clear();
  ASSERT_TRUE(crid.runtime().Status(call_context().get(), req, &resp).ok());
  EXPECT_TRUE(condition(resp, "NetworkReady")->status());
  EXPECT_NE(resp.info().at("cni").find("crid-test"), std::string::npos);
}

TEST_F(DaemonTest, RuntimeConfigReportsTheCgroupDriver) {
  v1::RuntimeConfigResponse resp;
  ASSERT_TRUE(
      crid.runtime().RuntimeConfig(call_context().get(), v1::RuntimeConfigRequest(), &resp).ok());
  EXPECT_EQ(resp.linux().cgroup_driver(), v1::CGROUPFS);
}

TEST_F(DaemonTest, UnbuiltRpcsSayWhatIsMissing) {
  v1::CheckpointContainerResponse resp;
  auto st = crid.runtime().CheckpointContainer(call_context().get(),
                                               v1::CheckpointContainerRequest(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(st.error_message().find("CheckpointContainer"), std::string::npos);
  EXPECT_GT(st.error_message().size(), 30u);
}

TEST_F(DaemonTest, SocketIsRootOnly0660) {
  struct stat st;
  ASSERT_EQ(::stat(crid.socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_uid, 0u);
  std::string dir = std::filesystem::path(crid.socket()).parent_path();
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & S_IWOTH, 0u) << dir << " is world-writable";
}

TEST_F(DaemonTest, SecondInstanceOnTheSameRootIsRefused) {
  auto r = run_command({crid_binary(), "--config", crid.config_path(), "--listen",
                        crid.dir().file("other.sock")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("another crid"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(crid.root()), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(crid.dir().file("other.sock")));
}

TEST_F(DaemonTest, SocketInUseIsRefusedWithoutHarm) {
  TempDir other;
  auto r = run_command({crid_binary(), "--root", other.file("root"), "--runroot",
                        other.file("run"), "--listen", crid.socket()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("in use"), std::string::npos) << r.output;
  // Nothing half-created, and the first daemon still answers.
  EXPECT_FALSE(std::filesystem::exists(other.file("root")));
  EXPECT_FALSE(std::filesystem::exists(other.file("run")));
  v1::VersionResponse resp;
  EXPECT_TRUE(crid.runtime().Version(call_context().get(), v1::VersionRequest(), &resp).ok());
}

TEST_F(DaemonTest, SigtermShutsDownAndRemovesTheSocket) {
  EXPECT_EQ(crid.stop(SIGTERM), 0);
  EXPECT_FALSE(std::filesystem::exists(crid.socket()));
  EXPECT_NE(crid.log().find("shutting down"), std::string::npos) << crid.log();
}

TEST_F(DaemonTest, StaleSocketFromAKilledDaemonIsReplaced) {
  crid.stop(SIGKILL);
  EXPECT_TRUE(std::filesystem::exists(crid.socket()));  // left behind by SIGKILL
  std::string err;
  ASSERT_TRUE(crid.start(&err)) << err;
}

TEST_F(DaemonTest, SighupReloadsLogLevelAndLogsTheChange) {
  crid.dir().write("crid.conf.d/50-quiet.conf", "log_level = \"warn\"\n");
  ::kill(crid.pid(), SIGHUP);
  for (int i = 0; i < 100 && crid.log().find("log_level: debug -> warn") == std::string::npos; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(crid.log().find("log_level: debug -> warn"), std::string::npos) << crid.log();
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  ASSERT_TRUE(crid.runtime().Status(call_context().get(), req, &resp).ok());
  EXPECT_NE(resp.info().at("config").find("\"log_level\":\"warn\""), std::string::npos);

  // A broken drop-in on reload keeps the running config.
  crid.dir().write("crid.conf.d/60-broken.conf", "log_level = \n");
  ::kill(crid.pid(), SIGHUP);
  for (int i = 0; i < 100 && crid.log().find("keeping the current config") == std::string::npos; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(crid.log().find("keeping the current config"), std::string::npos);
  EXPECT_TRUE(crid.running());
}

TEST_F(DaemonTest, StatusCommandPrintsTableAndJson) {
  auto r = run_command({crid_binary(), "--listen", crid.socket(), "status"});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("RuntimeReady"), std::string::npos);
  EXPECT_NE(r.output.find("NetworkReady"), std::string::npos);
  EXPECT_NE(r.output.find("cgroup driver: cgroupfs"), std::string::npos);
  auto j = run_command({crid_binary(), "--listen", crid.socket(), "status", "--json"});
  EXPECT_EQ(j.status, 0);
  EXPECT_NE(j.output.find("\"runtime_name\": \"crid\""), std::string::npos) << j.output;
}

TEST(DaemonStartup, StatusCommandWithoutDaemonFailsClearly) {
  TempDir d;
  auto r = run_command({crid_binary(), "--listen", d.file("none.sock"), "status"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("cannot reach crid"), std::string::npos) << r.output;
}

TEST(DaemonStartup, BadConfigFailsWithFileKeyAndExitCode1) {
  TempDir d;
  auto conf = d.write("bad.conf", "[runtime]\nconmon = \"/x\"\n");
  auto r = run_command({crid_binary(), "--config", conf});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(conf + ": runtime.conmon: unknown key"), std::string::npos) << r.output;
  r = run_command({crid_binary(), "--no-such-flag"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--no-such-flag"), std::string::npos) << r.output;
}

TEST(DaemonStartup, UnwritableRootFailsAndCreatesNothing) {
  CRID_REQUIRE_ROOT();
  TempDir d;
  // A file where a directory should be: not creatable even as root.
  d.write("blocker", "");
  auto r = run_command({crid_binary(), "--root", d.file("blocker/root"), "--runroot",
                        d.file("run"), "--listen", d.file("run/crid.sock")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(d.file("blocker/root")), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(d.file("run")));
}

// Hostile host setup: anyone who can write the socket's directory could put
// their own socket where the kubelet connects.
TEST(DaemonStartup, WorldWritableSocketDirectoryIsRefused) {
  CRID_REQUIRE_ROOT();
  TempDir d;
  std::filesystem::create_directory(d.file("open"));
  ASSERT_EQ(::chmod(d.file("open").c_str(), 01777), 0);
  auto r = run_command({crid_binary(), "--root", d.file("root"), "--runroot", d.file("run"),
                        "--listen", d.file("open/crid.sock")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("world-writable"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(d.file("open")), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(d.file("open/crid.sock")));
}

TEST(DaemonStartup, ConfigCommandOutputIsAcceptedBack) {
  TempDir d;
  auto conf = d.write("in.conf", "[runtime]\npids_limit = 1024\n[image.registries.\"docker.io\"]\n"
                                 "mirrors = [\"http://127.0.0.1:5000\"]\n");
  auto first = run_command({crid_binary(), "--config", conf, "--config-dir", d.file("none"),
                            "--log-level", "debug", "config"});
  ASSERT_EQ(first.status, 0) << first.output;
  auto rendered = d.write("rendered.conf", first.output);
  auto second = run_command(
      {crid_binary(), "--config", rendered, "--config-dir", d.file("none"), "config"});
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_EQ(first.output, second.output);
  EXPECT_NE(first.output.find("pids_limit = 1024"), std::string::npos);
  EXPECT_NE(first.output.find("log_level = \"debug\""), std::string::npos);
}

}  // namespace
}  // namespace crid::testing
