// Exec, Attach and PortForward over SPDY/3.1 against a real crid: the RPCs
// validate and hand out single-use URLs, the streaming server refuses
// unknown and reused tokens, and (once a container stream backend is built
// in) commands run in real containers under runc with their output, exit
// codes and terminal sizes reaching the client.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/busybox_image.h"
#include "support/crid_process.h"
#include "support/registry.h"
#include "support/spdy_client.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;
namespace sp = stream::spdy;

const char* kRepo = "it/stream";

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

size_t open_fds(pid_t pid) {
  size_t n = 0;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

struct ImageEnv {
  static ServedImage& get() {
    static ServedImage env(kRepo, [] {
      ImageConfigSpec spec;
      spec.cmd = {"/bin/sh"};
      return spec;
    }());
    return env;
  }
};

struct Outcome {
  std::string out, err, status;
};

class StreamSpdyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    auto& env = ImageEnv::get();
    ASSERT_EQ(env.error(), "");
    port_ = free_port();
    crid_ = std::make_unique<CridProcess>(insecure_registry_conf(env.registry()) +
                                          "[stream]\nstream_port = " + std::to_string(port_) +
                                          "\n");
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    ASSERT_EQ(pull_image(*crid_, env.image()), "");
  }

  void TearDown() override {
    if (!crid_) return;
    if (HasFailure()) std::cerr << "---- crid log ----\n" << crid_->log() << "\n";
    v1::ListPodSandboxResponse pods;
    rt().ListPodSandbox(call_context().get(), v1::ListPodSandboxRequest(), &pods);
    for (const auto& p : pods.items()) {
      v1::RemovePodSandboxRequest r;
      r.set_pod_sandbox_id(p.id());
      v1::RemovePodSandboxResponse resp;
      rt().RemovePodSandbox(call_context().get(), r, &resp);
    }
    crid_->stop();
  }

  v1::RuntimeService::Stub& rt() { return crid_->runtime(); }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::string run_pod(const std::string& name) {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_metadata()->set_namespace_("it");
    c->mutable_metadata()->set_uid("uid-" + name);
    c->set_log_directory(crid_->dir().file("logs/" + name));
    c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
        v1::NODE);
    pod_config_ = *c;
    v1::RunPodSandboxResponse resp;
    auto st = rt().RunPodSandbox(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.pod_sandbox_id();
  }

  std::string run_container(const std::string& pod, const std::string& name,
                            const std::string& sh, bool start = true, bool stdin = false) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(ImageEnv::get().image());
    for (const char* a : {"/bin/sh", "-c"}) c->add_command(a);
    c->add_command(sh);
    c->set_log_path(name + ".log");
    c->set_stdin(stdin);
    *req.mutable_sandbox_config() = pod_config_;
    v1::CreateContainerResponse resp;
    auto st = rt().CreateContainer(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (start) {
      v1::StartContainerRequest s;
      s.set_container_id(resp.container_id());
      v1::StartContainerResponse sr;
      st = rt().StartContainer(call_context().get(), s, &sr);
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    return resp.container_id();
  }

  grpc::Status exec(const std::string& id, std::vector<std::string> cmd, bool in, bool out,
                    bool err, bool tty, std::string* url) {
    v1::ExecRequest req;
    req.set_container_id(id);
    for (auto& c : cmd) req.add_cmd(c);
    req.set_stdin(in);
    req.set_stdout(out);
    req.set_stderr(err);
    req.set_tty(tty);
    v1::ExecResponse resp;
    auto st = rt().Exec(call_context().get(), req, &resp);
    *url = resp.url();
    return st;
  }

  // Skips the test when crid has no container stream backend yet.
  std::string exec_url_or_skip(const std::string& id, std::vector<std::string> cmd, bool in,
                               bool out, bool err, bool tty) {
    std::string url;
    auto st = exec(id, std::move(cmd), in, out, err, tty, &url);
    if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      skip_reason_ = st.error_message();
      return "";
    }
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(url.rfind(base_url() + "/exec/", 0), 0u) << url;
    return url;
  }

  // Runs one exec session: stdin (then FIN) if given, a stderr stream if
  // `with_stderr`, a resize event first with a tty.
  Outcome run_exec(const std::string& url, const std::optional<std::string>& stdin_data,
                   bool tty, bool with_stderr, const std::string& resize = "") {
    Outcome o;
    auto fd = SpdyClient::dial(url);
    EXPECT_TRUE(fd) << (fd ? "" : fd.error().message());
    if (!fd) return o;
    SpdyClient c(std::move(*fd));
    auto head = c.upgrade(SpdyClient::path_of(url), {"v4.channel.k8s.io", "v3.channel.k8s.io"});
    EXPECT_TRUE(head && head->code == 101) << (head ? head->body : head.error().message());
    if (!head || head->code != 101) return o;
    auto error = c.open_stream({{"streamtype", "error"}});
    std::optional<uint32_t> in, out, err, rs;
    if (stdin_data) in = c.open_stream({{"streamtype", "stdin"}}).value();
    out = c.open_stream({{"streamtype", "stdout"}}).value();
    if (with_stderr) err = c.open_stream({{"streamtype", "stderr"}}).value();
    if (tty) rs = c.open_stream({{"streamtype", "resize"}}).value();
    EXPECT_TRUE(error);
    if (rs && !resize.empty()) EXPECT_TRUE(c.send(*rs, resize));
    if (in) EXPECT_TRUE(c.send(*in, *stdin_data, true));
    o.out = c.read_all(*out);
    if (err) o.err = c.read_all(*err);
    o.status = c.read_all(*error);
    return o;
  }

  std::unique_ptr<CridProcess> crid_;
  v1::PodSandboxConfig pod_config_;
  uint16_t port_ = 0;
  std::string skip_reason_;
};

Result<HttpResponseHead> upgrade_once(const std::string& url) {
  CRID_ASSIGN(UniqueFd fd, SpdyClient::dial(url));
  SpdyClient c(std::move(fd));
  return c.upgrade(SpdyClient::path_of(url), {"v4.channel.k8s.io"});
}

TEST_F(StreamSpdyTest, UnknownTokensAndPathsGet404) {
  for (std::string path : {"/exec/AAAAAAAAAAAAAAAAAAAAAA", "/attach/x", "/portforward/y", "/exec/",
                           "/", "/metrics", "/exec/a/b"}) {
    auto head = upgrade_once(base_url() + path);
    ASSERT_TRUE(head) << path << ": " << head.error().message();
    EXPECT_EQ(head->code, 404) << path;
  }
  // The daemon keeps serving after refusals.
  auto head = upgrade_once(base_url() + "/exec/zzz");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->code, 404);
}

TEST_F(StreamSpdyTest, RpcsValidateBeforeHandingOutUrls) {
  std::string pod = run_pod("validate");
  std::string running = run_container(pod, "running", "sleep 3600");
  std::string created = run_container(pod, "created", "sleep 3600", false);
  std::string url;

  auto st = exec(running, {}, false, true, false, false, &url);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  st = exec(running, {"true"}, false, false, false, false, &url);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  st = exec(running, {"true"}, false, true, true, true, &url);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("tty"), std::string::npos);
  st = exec("0123456789abcdef-nope", {"true"}, false, true, false, false, &url);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_NE(st.error_message().find("0123456789abcdef-nope"), std::string::npos);
  st = exec(created, {"true"}, false, true, false, false, &url);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find(created), std::string::npos);
  EXPECT_TRUE(url.empty());

  v1::AttachRequest a;
  a.set_container_id(created);
  a.set_stdout(true);
  v1::AttachResponse ar;
  st = rt().Attach(call_context().get(), a, &ar);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();

  v1::PortForwardRequest pf;
  pf.set_pod_sandbox_id("no-such-pod");
  pf.add_port(80);
  v1::PortForwardResponse pr;
  st = rt().PortForward(call_context().get(), pf, &pr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  pf.set_pod_sandbox_id(pod);
  pf.set_port(0, 70000);
  st = rt().PortForward(call_context().get(), pf, &pr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();

  // A valid request gets a URL, or (without a container stream backend) an
  // UNIMPLEMENTED that says what is missing.
  st = exec(running, {"true"}, false, true, false, false, &url);
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    EXPECT_NE(st.error_message().find("backend"), std::string::npos) << st.error_message();
  } else {
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(url.rfind(base_url() + "/exec/", 0), 0u) << url;
  }
}

TEST_F(StreamSpdyTest, ExecRunsCommandsAndReportsExitCodes) {
  std::string pod = run_pod("exec");
  std::string id = run_container(pod, "shell", "sleep 3600");
  std::string url = exec_url_or_skip(id, {"/bin/sh", "-c", "echo out; echo err >&2"}, false,
                                     true, true, false);
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  Outcome o = run_exec(url, std::nullopt, false, true);
  EXPECT_EQ(o.out, "out\n");
  EXPECT_EQ(o.err, "err\n");
  EXPECT_EQ(o.status, R"({"metadata":{},"status":"Success"})");

  // The token was spent.
  auto again = upgrade_once(url);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->code, 404);

  url = exec_url_or_skip(id, {"/bin/sh", "-c", "exit 3"}, false, true, true, false);
  o = run_exec(url, std::nullopt, false, true);
  auto st = nlohmann::json::parse(o.status);
  EXPECT_EQ(st["reason"], "NonZeroExitCode");
  EXPECT_EQ(st["details"]["causes"][0]["message"], "3");

  url = exec_url_or_skip(id, {"/bin/cat"}, true, true, false, false);
  o = run_exec(url, std::string("piped through cat\n"), false, false);
  EXPECT_EQ(o.out, "piped through cat\n");
}

TEST_F(StreamSpdyTest, TtyExecSeesTheClientsTerminalSize) {
  std::string pod = run_pod("tty");
  std::string id = run_container(pod, "shell", "sleep 3600");
  std::string url = exec_url_or_skip(id, {"/bin/sh", "-c", "sleep 1; stty size"}, false, true,
                                     false, true);
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  Outcome o = run_exec(url, std::nullopt, true, false, "{\"Width\":91,\"Height\":37}\n");
  EXPECT_NE(o.out.find("37 91"), std::string::npos) << o.out;
  EXPECT_EQ(o.status, R"({"metadata":{},"status":"Success"})");

  // As `kubectl exec -it` asks: stdin too, through the same terminal.
  url = exec_url_or_skip(id, {"/bin/sh", "-c", "sleep 1; stty size; read line; echo got $line"}, true,
                         true, false, true);
  o = run_exec(url, std::string("typed\n"), true, false, "{\"Width\":100,\"Height\":30}\n");
  EXPECT_NE(o.out.find("30 100"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("got typed"), std::string::npos) << o.out;
}

TEST_F(StreamSpdyTest, ManyExecsLeaveNoDescriptorsInTheDaemon) {
  std::string pod = run_pod("many");
  std::string id = run_container(pod, "shell", "sleep 3600");
  std::string url = exec_url_or_skip(id, {"/bin/echo", "warm"}, false, true, false, false);
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  EXPECT_EQ(run_exec(url, std::nullopt, false, false).out, "warm\n");
  std::this_thread::sleep_for(1s);  // finished sessions are reaped within a second
  size_t before = open_fds(crid_->pid());
  for (int i = 0; i < 20; ++i) {
    url = exec_url_or_skip(id, {"/bin/echo", std::to_string(i)}, false, true, false, false);
    EXPECT_EQ(run_exec(url, std::nullopt, false, false).out, std::to_string(i) + "\n");
  }
  std::this_thread::sleep_for(1s);
  EXPECT_LE(open_fds(crid_->pid()), before + 2);  // slack for an unrelated gRPC socket
}

TEST_F(StreamSpdyTest, PortForwardReachesAServerInThePod) {
  std::string pod = run_pod("pf");
  uint16_t port = free_port();
  run_container(pod, "httpd",
                "mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && exec httpd -f "
                "-p 127.0.0.1:" + std::to_string(port) + " -h /tmp/www");
  v1::PortForwardRequest req;
  req.set_pod_sandbox_id(pod);
  req.add_port(port);
  v1::PortForwardResponse resp;
  auto st = rt().PortForward(call_context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) GTEST_SKIP() << st.error_message();
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto fd = SpdyClient::dial(resp.url());
  ASSERT_TRUE(fd);
  SpdyClient c(std::move(*fd));
  auto head = c.upgrade(SpdyClient::path_of(resp.url()), {"portforward.k8s.io"});
  ASSERT_TRUE(head && head->code == 101);
  std::this_thread::sleep_for(500ms);  // httpd binding
  for (int i = 0; i < 5; ++i) {
    sp::HeaderList h = {{"port", std::to_string(port)}, {"requestid", std::to_string(i)}};
    h.emplace_back("streamtype", "error");
    auto err = c.open_stream(h);
    h.back().second = "data";
    auto data = c.open_stream(h);
    ASSERT_TRUE(err && data);
    ASSERT_TRUE(c.send(*data, "GET /index.html HTTP/1.0\r\n\r\n", true));
    std::string answer = c.read_all(*data);
    EXPECT_NE(answer.find("hello-from-pod"), std::string::npos) << answer;
    EXPECT_EQ(c.read_all(*err), "");
  }
}

// Nothing listens on the port: the request's error stream says so, naming
// the port, its data stream ends empty, and the same session still serves
// a second request.
TEST_F(StreamSpdyTest, PortForwardToAClosedPortReportsOnTheErrorStream) {
  std::string pod = run_pod("pfclosed");
  uint16_t port = free_port();
  v1::PortForwardRequest req;
  req.set_pod_sandbox_id(pod);
  req.add_port(port);
  v1::PortForwardResponse resp;
  auto st = rt().PortForward(call_context().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto fd = SpdyClient::dial(resp.url());
  ASSERT_TRUE(fd);
  SpdyClient c(std::move(*fd));
  auto head = c.upgrade(SpdyClient::path_of(resp.url()), {"portforward.k8s.io"});
  ASSERT_TRUE(head && head->code == 101);
  for (int i = 0; i < 2; ++i) {
    sp::HeaderList h = {{"port", std::to_string(port)}, {"requestid", std::to_string(i)}};
    h.emplace_back("streamtype", "error");
    auto err = c.open_stream(h);
    h.back().second = "data";
    auto data = c.open_stream(h);
    ASSERT_TRUE(err && data);
    std::string error = c.read_all(*err);
    EXPECT_NE(error.find(std::to_string(port)), std::string::npos) << error;
    EXPECT_NE(error.find("refused"), std::string::npos) << error;
    EXPECT_EQ(c.read_all(*data), "");
  }
}

TEST_F(StreamSpdyTest, AttachJoinsTheRunningContainersStdio) {
  std::string pod = run_pod("attach");
  std::string id = run_container(pod, "reader", "while read l; do echo \"echo:$l\"; done", true,
                                 true);
  v1::AttachRequest req;
  req.set_container_id(id);
  req.set_stdin(true);
  req.set_stdout(true);
  req.set_stderr(true);
  v1::AttachResponse resp;
  auto st = rt().Attach(call_context().get(), req, &resp);
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) GTEST_SKIP() << st.error_message();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.url().rfind(base_url() + "/attach/", 0), 0u) << resp.url();
  for (int round = 0; round < 3; ++round) {
    if (round > 0) {
      resp.Clear();
      ASSERT_TRUE(rt().Attach(call_context().get(), req, &resp).ok());
    }
    auto fd = SpdyClient::dial(resp.url());
    ASSERT_TRUE(fd);
    SpdyClient c(std::move(*fd));
    auto head = c.upgrade(SpdyClient::path_of(resp.url()), {"v4.channel.k8s.io"});
    ASSERT_TRUE(head && head->code == 101);
    auto err = c.open_stream({{"streamtype", "error"}});
    auto in = c.open_stream({{"streamtype", "stdin"}});
    auto out = c.open_stream({{"streamtype", "stdout"}});
    auto errout = c.open_stream({{"streamtype", "stderr"}});
    ASSERT_TRUE(err && in && out && errout);
    std::string line = "line" + std::to_string(round);
    ASSERT_TRUE(c.send(*in, line + "\n"));
    std::string got;
    for (int i = 0; i < 50 && got.find("echo:" + line) == std::string::npos; ++i)
      got += c.read(*out, got.size() + 1, 200ms);
    EXPECT_NE(got.find("echo:" + line), std::string::npos) << got;
    // Leaving (closing the connection) detaches without stopping the container.
  }
  v1::ContainerStatusRequest sreq;
  sreq.set_container_id(id);
  v1::ContainerStatusResponse sresp;
  ASSERT_TRUE(rt().ContainerStatus(call_context().get(), sreq, &sresp).ok());
  EXPECT_EQ(sresp.status().state(), v1::CONTAINER_RUNNING);
}

// crictl (the cri-tools client, built on Kubernetes' own remotecommand
// code) when one is installed: $CRICTL or the first crictl on PATH.
std::string find_crictl() {
  if (const char* env = std::getenv("CRICTL"); env && *env) return env;
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  for (size_t at = 0; at <= path.size();) {
    size_t colon = path.find(':', at);
    if (colon == std::string::npos) colon = path.size();
    std::string candidate = path.substr(at, colon - at) + "/crictl";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    at = colon + 1;
  }
  return "";
}

TEST_F(StreamSpdyTest, CrictlExecWorksAsAUserWouldUseIt) {
  std::string crictl = find_crictl();
  if (crictl.empty()) GTEST_SKIP() << "no crictl installed (set CRICTL to one)";
  std::string pod = run_pod("crictl");
  std::string id = run_container(pod, "shell", "sleep 3600");
  std::string url;
  if (exec(id, {"true"}, false, true, false, false, &url).error_code() ==
      grpc::StatusCode::UNIMPLEMENTED)
    GTEST_SKIP() << "no container stream backend";
  std::vector<std::string> base = {crictl, "--runtime-endpoint", "unix://" + crid_->socket(),
                                   "--timeout", "30s"};
  auto with = [&](std::vector<std::string> more) {
    auto argv = base;
    argv.insert(argv.end(), more.begin(), more.end());
    return argv;
  };
  auto r = run_command(with({"exec", id, "echo", "hello from crictl"}));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("hello from crictl"), std::string::npos) << r.output;

  r = run_command(with({"exec", "-i", id, "cat"}), "through a pipe\n");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("through a pipe"), std::string::npos) << r.output;

  // crictl reports a non-zero exit code in words and exits 1.
  r = run_command(with({"exec", id, "sh", "-c", "exit 7"}));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("exit code 7"), std::string::npos) << r.output;

  // -it wants a terminal: script(1) gives it one of 30 rows, 100 columns.
  // crictl sends that size once its streams are up, racing the process's
  // start: the command waits a moment before asking.
  if (::access("/usr/bin/script", X_OK) == 0) {
    std::string cmd = "stty rows 30 cols 100; ";
    for (auto& a : with({"exec", "-it", id, "/bin/sh", "-c", "sleep 1; stty size"})) cmd += "'" + a + "' ";
    r = run_command({"/usr/bin/script", "-qec", cmd, "/dev/null"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("30 100"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace crid::testing
