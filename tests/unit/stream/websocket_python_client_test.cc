// The WebSocket session checked by someone else's code: Debian's
// python3-websocket (tests/integration/support/ws_exec_client.py) talks to
// serve_websocket on a loopback TCP listener backed by the fake backend.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "stream/websocket_session.h"
#include "unit/stream/websocket_test_support.h"
#include "util/process.h"

namespace crid::stream {
namespace {

using testing::FakeBackend;
using testing::PongServer;
using testing::SocketByteStream;

constexpr const char* kPython = "/usr/bin/python3";
// CRID_TEST_DATA is tests/unit/stream/testdata, which need not exist.
std::string support_script(const std::string& name) {
  std::string dir = CRID_TEST_DATA;
  dir.erase(dir.rfind('/'));
  return dir + "/../../integration/support/" + name;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

// Just enough of an HTTP/1.1 request-head parser to stand in for the
// streaming server in front of serve_websocket.
std::optional<HttpRequest> read_request_head(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &c, 1, 0) != 1) return std::nullopt;
    head.push_back(c);
  }
  HttpRequest r;
  size_t eol = head.find("\r\n");
  std::string line = head.substr(0, eol);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = r.target.find('?');
  r.path = percent_decode(r.target.substr(0, q));
  if (q != std::string::npos) {
    std::string_view query = std::string_view(r.target).substr(q + 1);
    while (!query.empty()) {
      std::string_view item = query.substr(0, query.find('&'));
      size_t eq = item.find('=');
      r.query.emplace_back(percent_decode(item.substr(0, eq)),
                           eq == std::string_view::npos ? "" : percent_decode(item.substr(eq + 1)));
      if (item.size() == query.size()) break;
      query.remove_prefix(item.size() + 1);
    }
  }
  size_t pos = eol + 2;
  while (true) {
    size_t next = head.find("\r\n", pos);
    if (next == pos || next == std::string::npos) break;
    std::string h = head.substr(pos, next - pos);
    size_t colon = h.find(':');
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers.emplace_back(h.substr(0, colon), value);
    pos = next + 2;
  }
  return r;
}

// Serves one WebSocket session on 127.0.0.1:<free port>.
class LoopbackStreamServer {
 public:
  LoopbackStreamServer(StreamBackend& backend, StreamRequest what) {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_.get(), 4) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::abort();
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, &backend, what = std::move(what)] {
      UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) return;
      auto req = read_request_head(conn.get());
      if (!req) return;
      SessionLimits limits;
      serve_websocket(std::make_unique<SocketByteStream>(std::move(conn), "127.0.0.1"), *req, what,
                      backend, limits);
    });
  }
  ~LoopbackStreamServer() {
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::string url(const std::string& query = "") const {
    return "ws://127.0.0.1:" + std::to_string(port_) + "/exec/tok3n" +
           (query.empty() ? "" : "?" + query);
  }

 private:
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::thread thread_;
};

class PythonWebSocketClient : public ::testing::Test {
 protected:
  void SetUp() override {
    auto probe = run_process({.argv = {kPython, "-c", "import websocket"}, .timeout = std::chrono::seconds(30)});
    if (!probe || !probe->success()) {
      GTEST_SKIP() << "python3-websocket (Debian) is not installed";
    }
  }

  ProcessOutput run_client(std::vector<std::string> args) {
    std::vector<std::string> argv{kPython, support_script("ws_exec_client.py")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = run_process({.argv = argv, .timeout = std::chrono::seconds(60)});
    EXPECT_TRUE(out) << out.error().message();
    return out ? *out : ProcessOutput{};
  }

  nlohmann::json run_json(std::vector<std::string> args) {
    args.push_back("--json");
    ProcessOutput out = run_client(std::move(args));
    EXPECT_TRUE(out.success()) << out.describe();
    auto j = nlohmann::json::parse(out.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << out.out << out.err;
    return j;
  }

  FakeBackend backend_;
};

ExecRequest exec_of(std::vector<std::string> cmd, bool in, bool out, bool err, bool tty = false) {
  ExecRequest r;
  r.container_id = "feedface00112233";
  r.cmd = std::move(cmd);
  r.stdin = in;
  r.stdout = out;
  r.stderr = err;
  r.tty = tty;
  return r;
}

TEST_F(PythonWebSocketClient, V5StdinEchoedAndStdinClosed) {
  LoopbackStreamServer server(backend_, exec_of({"cat"}, true, true, true));
  auto j = run_json({server.url("stdin=1&stdout=1&stderr=1"), "--stdin", "hello from python\n",
                     "--close-stdin"});
  EXPECT_EQ(j["protocol"], "v5.channel.k8s.io");
  EXPECT_EQ(j["stdout"], "hello from python\n");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(nlohmann::json::parse(j["status"].get<std::string>())["status"], "Success");
}

TEST_F(PythonWebSocketClient, ExitCodeStdoutAndStderr) {
  LoopbackStreamServer server(backend_, exec_of({"exit", "7", "to stdout", "to stderr"}, false, true, true));
  auto j = run_json({server.url(), "--protocol", "v4.channel.k8s.io"});
  EXPECT_EQ(j["protocol"], "v4.channel.k8s.io");
  EXPECT_EQ(j["stdout"], "to stdout");
  EXPECT_EQ(j["stderr"], "to stderr");
  EXPECT_EQ(j["exit_code"], 7);
}

TEST_F(PythonWebSocketClient, ExitsWithTheRemoteExitCodeLikeKubectl) {
  LoopbackStreamServer server(backend_, exec_of({"exit", "3", "out\n", "err\n"}, false, true, true));
  ProcessOutput out = run_client({server.url()});
  EXPECT_EQ(out.exit_code, 3) << out.describe();
  EXPECT_EQ(out.out, "out\n");
  EXPECT_EQ(out.err, "err\n");
}

TEST_F(PythonWebSocketClient, Base64Subprotocol) {
  LoopbackStreamServer server(backend_, exec_of({"exit", "0", "b64 out\n", "b64 err\n"}, false, true, true));
  auto j = run_json({server.url(), "--protocol", "base64.channel.k8s.io"});
  EXPECT_EQ(j["protocol"], "base64.channel.k8s.io");
  EXPECT_EQ(j["stdout"], "b64 out\n");
  EXPECT_EQ(j["stderr"], "b64 err\n");
  EXPECT_EQ(j["exit_code"], 0);
}

TEST_F(PythonWebSocketClient, TtyResize) {
  LoopbackStreamServer server(backend_, exec_of({"resize"}, true, true, false, true));
  auto j = run_json({server.url("tty=1&stdin=1&stdout=1"), "--resize", "120x50", "--resize", "90x30",
                     "--stdin", "", "--close-stdin"});
  EXPECT_EQ(j["stdout"], "120x50\n90x30\n");
  EXPECT_EQ(j["exit_code"], 0);
}

TEST_F(PythonWebSocketClient, BackendErrorIsReported) {
  LoopbackStreamServer server(backend_, exec_of({"fail"}, false, true, false));
  ProcessOutput out = run_client({server.url()});
  EXPECT_EQ(out.exit_code, 2) << out.describe();
  EXPECT_NE(out.err.find("no such process"), std::string::npos) << out.err;
}

TEST_F(PythonWebSocketClient, PortForward) {
  PongServer pod_server;
  LoopbackStreamServer server(backend_, PortForwardRequest{"pod0123", {}});
  auto out = run_process({.argv = {kPython, support_script("ws_port_forward_client.py"),
                                   server.url(), "--port", std::to_string(pod_server.port()),
                                   "--send", "hello pod"},
                          .timeout = std::chrono::seconds(60)});
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->success()) << out->describe();
  auto j = nlohmann::json::parse(out->out);
  EXPECT_EQ(j["protocol"], "v4.channel.k8s.io");
  EXPECT_EQ(j["port_prefixes"]["0"], pod_server.port());
  EXPECT_EQ(j["port_prefixes"]["1"], pod_server.port());
  EXPECT_EQ(j["data"], "pong:hello pod");
  EXPECT_EQ(j["error"], "");
}

TEST_F(PythonWebSocketClient, PortForwardToAClosedPortReportsTheError) {
  // Bound but never listening, then closed: connecting is refused.
  uint16_t port;
  {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = ntohs(addr.sin_port);
  }
  LoopbackStreamServer server(backend_, PortForwardRequest{"pod0123", {port}});
  auto out = run_process({.argv = {kPython, support_script("ws_port_forward_client.py"),
                                   server.url(), "--port", std::to_string(port)},
                          .timeout = std::chrono::seconds(60)});
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->success()) << out->describe();
  auto j = nlohmann::json::parse(out->out);
  EXPECT_NE(j["error"].get<std::string>().find("error forwarding port " + std::to_string(port) +
                                               " to pod pod0123"),
            std::string::npos)
      << out->out;
}

}  // namespace
}  // namespace crid::stream
