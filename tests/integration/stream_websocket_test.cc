// Exec and attach over WebSocket end to end: a real crid (streaming server,
// runc under conmon, a busybox container) driven through the Exec and
// Attach RPCs, the URL they return opened by Debian's python3-websocket
// (support/ws_exec_client.py), so the protocol is checked by a client crid
// did not write.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/busybox_image.h"
#include "support/crid_process.h"
#include "support/registry.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

const char* kRepo = "it/stream-ws";
const char* kPython = "/usr/bin/python3";

// CRID_TEST_DATA is tests/integration/testdata, which need not exist.
std::string client_script() {
  std::string dir = CRID_TEST_DATA;
  dir.erase(dir.rfind('/'));
  return dir + "/support/ws_exec_client.py";
}

struct ImageEnv {
  static ServedImage& get() {
    static ServedImage env(kRepo, [] {
      ImageConfigSpec spec;
      spec.cmd = {"/bin/sleep", "3600"};
      return spec;
    }());
    return env;
  }
};

// "http://127.0.0.1:4321/exec/tok" -> "ws://127.0.0.1:4321/exec/tok".
std::string ws_url(const std::string& url) {
  if (url.rfind("https://", 0) == 0) return "wss://" + url.substr(8);
  if (url.rfind("http://", 0) == 0) return "ws://" + url.substr(7);
  return url;
}

size_t fd_count(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fsys::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

class StreamWebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    if (run_command({kPython, "-c", "import websocket"}).status != 0) {
      GTEST_SKIP() << "python3-websocket (Debian) is not installed";
    }
    auto& env = ImageEnv::get();
    ASSERT_EQ(env.error(), "");
    crid_ = std::make_unique<CridProcess>(insecure_registry_conf(env.registry()) +
                                          "\n[stream]\nstream_address = \"127.0.0.1\"\n"
                                          "stream_port = 0\n");
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    ASSERT_EQ(pull_image(*crid_, env.image()), "");
    pod_ = run_pod();
    ctr_ = run_container(pod_);
  }

  void TearDown() override {
    if (!crid_) return;
    if (HasFailure()) std::cerr << "---- crid log ----\n" << crid_->log() << "\n";
    if (!pod_.empty()) {
      v1::RemovePodSandboxRequest r;
      r.set_pod_sandbox_id(pod_);
      v1::RemovePodSandboxResponse resp;
      crid_->runtime().RemovePodSandbox(call_context().get(), r, &resp);
    }
    crid_->stop();
  }

  std::string run_pod() {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name("ws");
    c->mutable_metadata()->set_namespace_("it");
    c->mutable_metadata()->set_uid("uid-ws");
    c->set_log_directory(crid_->dir().file("logs/ws"));
    c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
    pod_config_ = *c;
    v1::RunPodSandboxResponse resp;
    auto st = crid_->runtime().RunPodSandbox(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.pod_sandbox_id();
  }

  std::string run_container(const std::string& pod, const std::string& name = "sleeper",
                            std::vector<std::string> command = {}, bool stdin_once = false) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(ImageEnv::get().image());
    c->set_log_path(name + ".log");
    for (auto& a : command) c->add_command(a);
    if (stdin_once) {
      c->set_stdin(true);
      c->set_stdin_once(true);
    }
    *req.mutable_sandbox_config() = pod_config_;
    v1::CreateContainerResponse resp;
    auto st = crid_->runtime().CreateContainer(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    v1::StartContainerRequest start;
    start.set_container_id(resp.container_id());
    v1::StartContainerResponse sresp;
    st = crid_->runtime().StartContainer(call_context().get(), start, &sresp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.container_id();
  }

  std::string exec_url(std::vector<std::string> cmd, bool in, bool out, bool err, bool tty = false) {
    v1::ExecRequest req;
    req.set_container_id(ctr_);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_stdin(in);
    req.set_stdout(out);
    req.set_stderr(err);
    req.set_tty(tty);
    v1::ExecResponse resp;
    auto st = crid_->runtime().Exec(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return ws_url(resp.url());
  }

  CommandResult client(std::vector<std::string> args) {
    std::vector<std::string> argv{kPython, client_script()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }

  nlohmann::json client_json(std::vector<std::string> args) {
    args.push_back("--json");
    CommandResult r = client(std::move(args));
    EXPECT_EQ(r.status, 0) << r.output;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.output;
    return j.is_discarded() ? nlohmann::json::object() : j;
  }

  std::unique_ptr<CridProcess> crid_;
  v1::PodSandboxConfig pod_config_;
  std::string pod_, ctr_;
};

TEST_F(StreamWebSocketTest, ExecPipesStdinAndReportsTheExitCode) {
  std::string url = exec_url({"/bin/sh", "-c", "cat; echo to-stderr >&2; exit 3"}, true, true, true);
  auto j = client_json({url, "--stdin", "hello through crid\n", "--close-stdin"});
  EXPECT_EQ(j["protocol"], "v5.channel.k8s.io");
  EXPECT_EQ(j["stdout"], "hello through crid\n");
  EXPECT_EQ(j["stderr"], "to-stderr\n");
  EXPECT_EQ(j["exit_code"], 3);
}

TEST_F(StreamWebSocketTest, ExecExitCodeZeroAndKubectlStyleExit) {
  auto j = client_json({exec_url({"/bin/echo", "hi"}, false, true, true)});
  EXPECT_EQ(j["stdout"], "hi\n");
  EXPECT_EQ(j["exit_code"], 0);
  CommandResult r = client({exec_url({"/bin/sh", "-c", "exit 42"}, false, true, true)});
  EXPECT_EQ(r.status, 42) << r.output;
}

TEST_F(StreamWebSocketTest, OlderSubprotocolsWork) {
  for (const char* p : {"v4.channel.k8s.io", "v4.base64.channel.k8s.io", "base64.channel.k8s.io",
                        "channel.k8s.io"}) {
    auto j = client_json({exec_url({"/bin/sh", "-c", "echo $0; exit 5", p}, false, true, true),
                          "--protocol", p});
    EXPECT_EQ(j["protocol"], p);
    EXPECT_EQ(j["stdout"], std::string(p) + "\n");
    // channel.k8s.io reports errors as text; the client maps any to 2.
    EXPECT_EQ(j["exit_code"], std::string(p).rfind("v4.", 0) == 0 ? 5 : 2) << p;
  }
}

// Disabled with the one below: in about 1 run of 5 (before the raw-pty
// change) the output was "go\r\ngo\r\n" and the size line never came.
TEST_F(StreamWebSocketTest, DISABLED_TtyResizeReachesTheTerminal) {
  // The backend applies a resize while the process runs: busybox stty
  // fails on a 0x0 terminal, so wait for the size.
  std::string url = exec_url({"/bin/sh", "-c",
                              "read line; i=0; until stty size 2>/dev/null; do "
                              "i=$((i+1)); [ $i -gt 100 ] && exit 9; sleep 0.1; done; sleep 0.5"},
                             true, true, false, true);
  auto j = client_json({url, "--resize", "123x45", "--stdin", "go\n"});
  EXPECT_NE(j["stdout"].get<std::string>().find("45 123"), std::string::npos) << j.dump();
  EXPECT_EQ(j["exit_code"], 0);
}

// Known open bug (docs/status.md): a tty exec's output sometimes passes two
// line disciplines ("last-line\r\r\n", 3 runs of 20 with runc). Making the
// pty between crid and runc raw from the start did not cure it, so the
// second ONLCR is elsewhere. Enable when fixed.
TEST_F(StreamWebSocketTest, DISABLED_TtyOutputPassesOneTerminalOnly) {
  int lost = 0;
  for (int i = 0; i < 20; ++i) {
    auto j = client_json({exec_url({"/bin/echo", "last-line"}, false, true, false, true)});
    if (j["stdout"] != "last-line\r\n") {
      ++lost;
      std::cerr << "lost: " << j.dump() << "\n";
    }
  }
  EXPECT_EQ(lost, 0) << "tty execs whose output was not exactly last-line\\r\\n, of 20";
}

TEST_F(StreamWebSocketTest, AttachReachesTheContainersStdio) {
  std::string reader =
      run_container(pod_, "reader", {"/bin/sh", "-c", "read line; echo got:$line"}, true);
  v1::AttachRequest req;
  req.set_container_id(reader);
  req.set_stdin(true);
  req.set_stdout(true);
  v1::AttachResponse resp;
  auto st = crid_->runtime().Attach(call_context().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto j = client_json({ws_url(resp.url()), "--stdin", "ping\n", "--close-stdin"});
  EXPECT_NE(j["stdout"].get<std::string>().find("got:ping"), std::string::npos) << j.dump();
  EXPECT_EQ(j["exit_code"], 0);
}

TEST_F(StreamWebSocketTest, TokenIsSingleUse) {
  std::string url = exec_url({"/bin/true"}, false, true, false);
  EXPECT_EQ(client_json({url})["exit_code"], 0);
  CommandResult again = client({url, "--json"});
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.output.find("404"), std::string::npos) << again.output;
}

TEST_F(StreamWebSocketTest, ManyExecsLeakNoDaemonFds) {
  // Warm up, then compare.
  EXPECT_EQ(client_json({exec_url({"/bin/echo", "warm"}, false, true, true)})["stdout"], "warm\n");
  size_t before = fd_count(crid_->pid());
  for (int i = 0; i < 20; ++i) {
    std::string word = "round" + std::to_string(i);
    auto j = client_json({exec_url({"/bin/sh", "-c", "cat"}, true, true, true), "--stdin", word,
                          "--close-stdin"});
    EXPECT_EQ(j["stdout"], word);
  }
  // The session threads finish just after the client sees the close.
  size_t after = fd_count(crid_->pid());
  for (int i = 0; i < 50 && after > before; ++i) {
    std::this_thread::sleep_for(100ms);
    after = fd_count(crid_->pid());
  }
  EXPECT_LE(after, before);
}

}  // namespace
}  // namespace crid::testing
