// Exec and attach over WebSocket end to end: a real crid (streaming server,
// runc under conmon, a busybox container) driven through the Exec and
// Attach RPCs, the URL they return opened by Debian's python3-websocket
// (support/ws_exec_client.py), so the protocol is checked by a client crid
// did not write.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/busybox_image.h"
#include "support/crid_process.h"
#include "support/registry.h"
#include "util/unique_fd.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

const char* kRepo = "it/stream-ws";
const char* kPython = "/usr/bin/python3";

// CRID_TEST_DATA is tests/integration/testdata, which need not exist.
std::string support_script(const char* name) {
  std::string dir = CRID_TEST_DATA;
  dir.erase(dir.rfind('/'));
  return dir + "/support/" + name;
}
std::string client_script() { return support_script("ws_exec_client.py"); }

// A loopback port nobody listens on (the socket that found it is closed).
uint16_t free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
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

// Live `crid exec-reaper` processes whose parent is `parent`.
size_t reaper_children(pid_t parent) {
  size_t n = 0;
  for (auto& e : fsys::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream cmd(e.path() / "cmdline");
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (args.find(std::string("exec-reaper") + '\0') != std::string::npos) ++n;
  }
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
    // crun 1.8 refuses the host's hybrid cgroup layout: hide cgroup2 from it.
    if (handler() == "crun" && fsys::exists("/sys/fs/cgroup/unified/cgroup.controllers"))
      crid_->set_launch_prefix(private_mount_namespace_without("/sys/fs/cgroup/unified"));
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

  // The runtime handler of the pod ("": the default, runc).
  virtual std::string handler() const { return ""; }

  std::string run_pod() {
    v1::RunPodSandboxRequest req;
    req.set_runtime_handler(handler());
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

  std::string port_forward_url(uint16_t port) {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(pod_);
    req.add_port(port);
    v1::PortForwardResponse resp;
    auto st = crid_->runtime().PortForward(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return ws_url(resp.url());
  }

  // support/ws_port_forward_client.py: sends `text` to `port` through the
  // URL, returns what came back on the data and error channels.
  nlohmann::json port_forward(const std::string& url, uint16_t port, const std::string& text) {
    CommandResult r = run_command({kPython, support_script("ws_port_forward_client.py"), url,
                                   "--port", std::to_string(port), "--send", text});
    EXPECT_EQ(r.status, 0) << r.output;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.output;
    return j.is_discarded() ? nlohmann::json::object() : j;
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

// The terminal cases, under each runtime: runc hands the terminal over a
// console socket only when detached (crid exec-reaper), crun in the
// foreground.
class StreamWebSocketTtyTest : public StreamWebSocketTest,
                               public ::testing::WithParamInterface<std::string> {
 protected:
  std::string handler() const override { return GetParam(); }
};

TEST_P(StreamWebSocketTtyTest, TtyResizeReachesTheTerminal) {
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

// Exactly one line discipline between the process and the client: the
// container's pty turns "\n" into "\r\n" once. Through runc's foreground
// relay this came out as "\r\r\n" in about 3 runs of 20 (runc clears ONLCR
// on the container's pty only after the process may have written, and
// keeps OPOST on its own terminal).
TEST_P(StreamWebSocketTtyTest, TtyOutputPassesOneTerminalOnly) {
  // Warm up (first-exec state in the daemon), then count descriptors too.
  EXPECT_EQ(client_json({exec_url({"/bin/true"}, false, true, false, true)})["exit_code"], 0);
  std::this_thread::sleep_for(1s);  // finished sessions are reaped within a second
  size_t before = fd_count(crid_->pid());
  int wrong = 0;
  for (int i = 0; i < 20; ++i) {
    auto j = client_json({exec_url({"/bin/echo", "last-line"}, false, true, false, true)});
    if (j["stdout"] != "last-line\r\n") {
      ++wrong;
      std::cerr << "wrong: " << j.dump() << "\n";
    }
    EXPECT_EQ(j["exit_code"], 0);
  }
  EXPECT_EQ(wrong, 0) << "tty execs whose output was not exactly last-line\\r\\n, of 20";
  // No console socket, pty master or reaper pipe left behind.
  size_t after = fd_count(crid_->pid());
  for (int i = 0; i < 50 && after > before; ++i) {
    std::this_thread::sleep_for(100ms);
    after = fd_count(crid_->pid());
  }
  EXPECT_LE(after, before);
  EXPECT_EQ(reaper_children(crid_->pid()), 0u);
}

// The exit code of a tty exec comes through the exec reaper (runc) as it
// does from the runtime itself (crun), a signal as 128+signal.
TEST_P(StreamWebSocketTtyTest, TtyExecReportsTheExitCode) {
  CommandResult r = client({exec_url({"/bin/sh", "-c", "echo out; exit 7"}, false, true, false,
                                     true)});
  EXPECT_EQ(r.status, 7) << r.output;
  auto j = client_json({exec_url({"/bin/sh", "-c", "kill -TERM $$"}, false, true, false, true)});
  EXPECT_EQ(j["exit_code"], 128 + 15) << j.dump();
}

// A command that does not exist: the runtime's own error reaches the
// client, with a failing exit code, and no process or file is left.
TEST_P(StreamWebSocketTtyTest, TtyExecOfAMissingProgramFailsCleanly) {
  CommandResult r = client({exec_url({"/no/such/program"}, false, true, false, true), "--json"});
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.output;
  EXPECT_NE(j["exit_code"], 0) << r.output;
  EXPECT_NE(j["stdout"].get<std::string>().find("no/such/program"), std::string::npos)
      << r.output;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, StreamWebSocketTtyTest, ::testing::Values("runc", "crun"),
                         [](const auto& info) { return info.param; });

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

// Port-forward over WebSocket to a server in the pod (busybox httpd on a
// loopback port of the pod's network, here the node's), as kubectl does
// through the kubelet: one connection per forwarded connection, many in a
// row, with no descriptors left in the daemon.
TEST_F(StreamWebSocketTest, PortForwardReachesAServerInThePod) {
  uint16_t port = free_port();
  run_container(pod_, "httpd",
                {"/bin/sh", "-c",
                 "mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && exec httpd "
                 "-f -p 127.0.0.1:" + std::to_string(port) + " -h /tmp/www"});
  const std::string request = "GET /index.html HTTP/1.0\r\n\r\n";
  // Until httpd listens (it starts just after the container does).
  nlohmann::json j;
  for (int i = 0; i < 50; ++i) {
    j = port_forward(port_forward_url(port), port, request);
    if (j.value("data", "").find("hello-from-pod") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(j.value("data", "").find("hello-from-pod"), std::string::npos) << j.dump();
  std::this_thread::sleep_for(1s);  // finished sessions are reaped within a second
  size_t before = fd_count(crid_->pid());
  for (int i = 0; i < 10; ++i) {
    j = port_forward(port_forward_url(port), port, request);
    EXPECT_EQ(j["protocol"], "v4.channel.k8s.io");
    // Each channel starts with the port it belongs to.
    EXPECT_EQ(j["port_prefixes"]["0"], port) << j.dump();
    EXPECT_EQ(j["port_prefixes"]["1"], port) << j.dump();
    EXPECT_NE(j["data"].get<std::string>().find("200 OK"), std::string::npos) << j.dump();
    EXPECT_NE(j["data"].get<std::string>().find("hello-from-pod"), std::string::npos) << j.dump();
    EXPECT_EQ(j["error"], "") << j.dump();
  }
  size_t after = fd_count(crid_->pid());
  for (int i = 0; i < 50 && after > before; ++i) {
    std::this_thread::sleep_for(100ms);
    after = fd_count(crid_->pid());
  }
  EXPECT_LE(after, before);
}

// Nothing listens on the port: the error channel says so, naming the port,
// the data channel stays empty and the session ends.
TEST_F(StreamWebSocketTest, PortForwardToAClosedPortReportsOnTheErrorChannel) {
  uint16_t port = free_port();
  auto j = port_forward(port_forward_url(port), port, "hello?");
  EXPECT_EQ(j["data"], "") << j.dump();
  std::string error = j["error"];
  EXPECT_NE(error.find(std::to_string(port)), std::string::npos) << j.dump();
  EXPECT_NE(error.find("refused"), std::string::npos) << j.dump();
  // The daemon serves the next one as before.
  auto again = port_forward(port_forward_url(port), port, "");
  EXPECT_NE(again["error"].get<std::string>().find(std::to_string(port)), std::string::npos)
      << again.dump();
}

}  // namespace
}  // namespace crid::testing
