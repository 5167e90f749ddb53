// A whole SPDY session over a socketpair: crid's serve_spdy on one end,
// the test client on the other, a fake backend behind.
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "fake_stream_backend.h"
#include "integration/support/spdy_client.h"
#include "stream/socket_stream.h"
#include "stream/spdy_session.h"

namespace crid::stream {
namespace {

using namespace std::chrono_literals;
using testing::SpdyClient;

class SpdySession {
 public:
  SpdySession(FakeStreamBackend& backend, StreamRequest what, std::vector<std::string> protocols,
              SpdyLimits limits = {}) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    HttpRequest req;
    req.method = "POST";
    req.path = "/exec/x";
    req.headers = {{"Connection", "Upgrade"}, {"Upgrade", "SPDY/3.1"}};
    for (auto& p : protocols) req.headers.emplace_back("X-Stream-Protocol-Version", p);
    server_ = std::thread([&backend, what, req, limits, fd = sv[0]] {
      serve_spdy(std::make_unique<SocketStream>(UniqueFd(fd), "test", nullptr), req, what,
                 backend, limits);
    });
    client = std::make_unique<SpdyClient>(UniqueFd(sv[1]));
    auto head = client->read_response();
    EXPECT_TRUE(head) << head.error().message();
    if (head) response = *head;
  }
  ~SpdySession() { finish(); }
  // Closes the client and waits for the server side to end.
  void finish() {
    if (!server_.joinable()) return;
    client->close();
    server_.join();
  }

  std::unique_ptr<SpdyClient> client;
  testing::HttpResponseHead response;

 private:
  std::thread server_;
};

spdy::HeaderList typed(const std::string& type) { return {{"streamtype", type}}; }

ExecRequest exec_req(std::vector<std::string> cmd, bool in, bool out, bool err, bool tty = false) {
  ExecRequest r;
  r.container_id = "ctr";
  r.cmd = std::move(cmd);
  r.stdin = in;
  r.stdout = out;
  r.stderr = err;
  r.tty = tty;
  return r;
}

TEST(SpdySession, ExecEchoesStdinAndReportsSuccessV4) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"echo"}, true, true, false), {"v4.channel.k8s.io"});
  ASSERT_EQ(s.response.code, 101);
  EXPECT_EQ(s.response.header("X-Stream-Protocol-Version"), "v4.channel.k8s.io");
  auto err = s.client->open_stream(typed("error"));
  auto in = s.client->open_stream(typed("stdin"));
  auto out = s.client->open_stream(typed("stdout"));
  ASSERT_TRUE(err && in && out);
  ASSERT_TRUE(s.client->send(*in, "hello "));
  ASSERT_TRUE(s.client->send(*in, std::string(100000, 'x'), true));
  std::string got = s.client->read_all(*out);
  EXPECT_EQ(got, "hello " + std::string(100000, 'x'));
  EXPECT_EQ(s.client->read_all(*err), R"({"metadata":{},"status":"Success"})");
  EXPECT_TRUE(s.client->finished(*out));
  EXPECT_TRUE(s.client->goaway_received());
  s.finish();
  EXPECT_EQ(backend.execs, 1);
}

TEST(SpdySession, NonZeroExitCodeIsAV4StatusCause) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"exit", "3"}, false, true, true), {"v4.channel.k8s.io"});
  auto err = s.client->open_stream(typed("error"));
  auto out = s.client->open_stream(typed("stdout"));
  auto errout = s.client->open_stream(typed("stderr"));
  ASSERT_TRUE(err && out && errout);
  EXPECT_EQ(s.client->read_all(*out), "out");
  EXPECT_EQ(s.client->read_all(*errout), "err");
  auto st = nlohmann::json::parse(s.client->read_all(*err));
  EXPECT_EQ(st["status"], "Failure");
  EXPECT_EQ(st["reason"], "NonZeroExitCode");
  ASSERT_EQ(st["details"]["causes"].size(), 1u);
  EXPECT_EQ(st["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(st["details"]["causes"][0]["message"], "3");
}

TEST(SpdySession, OlderProtocolsGetPlainErrorText) {
  for (std::string proto : {"v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"}) {
    FakeStreamBackend backend;
    SpdySession s(backend, exec_req({"exit", "5"}, false, true, false), {proto});
    EXPECT_EQ(s.response.header("X-Stream-Protocol-Version"), proto);
    auto err = s.client->open_stream(typed("error"));
    auto out = s.client->open_stream(typed("stdout"));
    ASSERT_TRUE(err && out) << proto;
    EXPECT_EQ(s.client->read_all(*out), "out");
    std::string msg = s.client->read_all(*err);
    EXPECT_NE(msg.find("non-zero exit code"), std::string::npos) << proto << ": " << msg;
    EXPECT_NE(msg.find('5'), std::string::npos) << msg;
    EXPECT_EQ(msg.find('{'), std::string::npos) << msg;
  }
  FakeStreamBackend backend;
  SpdySession ok(backend, exec_req({"exit", "0"}, false, true, false), {"v3.channel.k8s.io"});
  auto err = ok.client->open_stream(typed("error"));
  auto out = ok.client->open_stream(typed("stdout"));
  ASSERT_TRUE(err && out);
  EXPECT_EQ(ok.client->read_all(*err), "");  // success says nothing before v4
  EXPECT_TRUE(ok.client->finished(*err));
}

TEST(SpdySession, ClientOrderDecidesTheProtocol) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"exit", "0"}, false, true, false),
                {"v9.channel.k8s.io, v2.channel.k8s.io", "v4.channel.k8s.io"});
  EXPECT_EQ(s.response.header("X-Stream-Protocol-Version"), "v2.channel.k8s.io");
}

TEST(SpdySession, ResizeEventsReachTheBackendAsTerminalSizes) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"sizes"}, true, true, false, true), {"v4.channel.k8s.io"});
  auto err = s.client->open_stream(typed("error"));
  auto in = s.client->open_stream(typed("stdin"));
  auto out = s.client->open_stream(typed("stdout"));
  auto resize = s.client->open_stream(typed("resize"));
  ASSERT_TRUE(err && in && out && resize);
  ASSERT_TRUE(s.client->send(*resize, "{\"Width\":80,\"Height\":24}\n"));
  EXPECT_EQ(s.client->read(*out, 6), "80x24\n");
  // An event split across frames, then two in one frame.
  ASSERT_TRUE(s.client->send(*resize, "{\"Width\":1"));
  ASSERT_TRUE(s.client->send(*resize, "20,\"Height\":40}{\"Width\":7,\"Height\":9}"));
  std::string both;
  while (both.size() < 11 && !s.client->finished(*out)) both += s.client->read(*out, 11 - both.size());
  EXPECT_EQ(both, "120x40\n7x9\n");
  ASSERT_TRUE(s.client->send(*in, "", true));
  EXPECT_EQ(s.client->read_all(*err), R"({"metadata":{},"status":"Success"})");
}

TEST(SpdySession, TtyRefusesAStderrStream) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"exit", "0"}, false, true, true, true), {"v4.channel.k8s.io"});
  auto bad = s.client->open_stream(typed("stderr"));
  EXPECT_FALSE(bad);
  auto unknown = s.client->open_stream(typed("bogus"));
  EXPECT_FALSE(unknown);
}

TEST(SpdySession, ClientGoingAwayCancelsTheBackend) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"wait"}, true, true, false), {"v4.channel.k8s.io"});
  ASSERT_TRUE(s.client->open_stream(typed("error")));
  ASSERT_TRUE(s.client->open_stream(typed("stdin")));
  ASSERT_TRUE(s.client->open_stream(typed("stdout")));
  // Wait until the backend runs, then vanish.
  for (int i = 0; i < 2000 && backend.execs == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(backend.execs, 1);
  s.finish();
  EXPECT_EQ(backend.cancelled, 1);
}

TEST(SpdySession, IdleSessionIsClosedAndCancelled) {
  FakeStreamBackend backend;
  SpdyLimits limits;
  limits.session.idle_timeout = 300ms;
  SpdySession s(backend, exec_req({"wait"}, false, true, false), {"v4.channel.k8s.io"}, limits);
  ASSERT_TRUE(s.client->open_stream(typed("error")));
  ASSERT_TRUE(s.client->open_stream(typed("stdout")));
  EXPECT_TRUE(s.client->wait_closed());
  s.finish();
  EXPECT_EQ(backend.cancelled, 1);
}

TEST(SpdySession, MissingStreamsTimeOut) {
  FakeStreamBackend backend;
  SpdyLimits limits;
  limits.stream_creation = 200ms;
  SpdySession s(backend, exec_req({"echo"}, true, true, false), {"v4.channel.k8s.io"}, limits);
  ASSERT_TRUE(s.client->open_stream(typed("error")));
  EXPECT_TRUE(s.client->wait_closed());
  EXPECT_EQ(backend.execs, 0);
}

TEST(SpdySession, BackendFailureIsAnInternalErrorStatus) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"fail", "/bin/nope"}, false, true, false),
                {"v4.channel.k8s.io"});
  auto err = s.client->open_stream(typed("error"));
  ASSERT_TRUE(err && s.client->open_stream(typed("stdout")));
  auto st = nlohmann::json::parse(s.client->read_all(*err));
  EXPECT_EQ(st["status"], "Failure");
  EXPECT_EQ(st["reason"], "InternalError");
  EXPECT_NE(st["message"].get<std::string>().find("/bin/nope"), std::string::npos);
}

TEST(SpdySession, AttachPipesBothWays) {
  FakeStreamBackend backend;
  AttachRequest a;
  a.container_id = "ctr";
  a.stdin = a.stdout = true;
  SpdySession s(backend, a, {"v4.channel.k8s.io"});
  auto err = s.client->open_stream(typed("error"));
  auto in = s.client->open_stream(typed("stdin"));
  auto out = s.client->open_stream(typed("stdout"));
  ASSERT_TRUE(err && in && out);
  EXPECT_EQ(s.client->read(*out, 9), "attached\n");
  ASSERT_TRUE(s.client->send(*in, "typed", true));
  EXPECT_EQ(s.client->read_all(*out), "typed");
  EXPECT_EQ(s.client->read_all(*err), R"({"metadata":{},"status":"Success"})");
  EXPECT_EQ(backend.attaches, 1);
}

TEST(SpdySession, PingsAreEchoed) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"wait"}, false, true, false), {"v4.channel.k8s.io"});
  EXPECT_TRUE(s.client->ping(1));
  EXPECT_TRUE(s.client->ping(3));
}

TEST(SpdySession, GarbageEndsTheConnectionWithGoAway) {
  FakeStreamBackend backend;
  SpdySession s(backend, exec_req({"wait"}, false, true, false), {"v4.channel.k8s.io"});
  ASSERT_TRUE(s.client->send_raw(std::string("\x80\x02\x00\x01\x00\x00\x00\x00", 8)));
  EXPECT_TRUE(s.client->wait_closed());
  EXPECT_TRUE(s.client->goaway_received());
}

TEST(SpdySession, UpgradeNegotiationFailures) {
  FakeStreamBackend backend;
  {
    SpdySession s(backend, exec_req({"echo"}, true, true, false), {});
    EXPECT_EQ(s.response.code, 400);
    EXPECT_NE(s.response.body.find("X-Stream-Protocol-Version"), std::string::npos);
  }
  {
    SpdySession s(backend, exec_req({"echo"}, true, true, false), {"v9.channel.k8s.io"});
    EXPECT_EQ(s.response.code, 403);
    EXPECT_EQ(s.response.header("X-Accepted-Stream-Protocol-Versions"), "v4.channel.k8s.io");
  }
  {
    SpdySession s(backend, PortForwardRequest{"pod", {}}, {"v4.channel.k8s.io"});
    EXPECT_EQ(s.response.code, 403);
  }
  EXPECT_EQ(backend.execs, 0);
}

TEST(SpdySessionHelpers, NegotiateAndSplit) {
  EXPECT_EQ(split_comma_list(" a, b ,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(negotiate_protocol({"x", "b", "a"}, {"a", "b"}), "b");
  EXPECT_EQ(negotiate_protocol({"x"}, {"a"}), "");
}

// A loopback server answering "got:<everything it read>" once the client
// half-closes, for as many connections as asked.
class EchoListener {
 public:
  explicit EchoListener(int connections) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    EXPECT_EQ(::listen(fd_.get(), 16), 0);
    socklen_t len = sizeof(sa);
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
    thread_ = std::thread([this, connections] {
      std::vector<std::thread> conns;
      for (int i = 0; i < connections; ++i) {
        int c = ::accept(fd_.get(), nullptr, nullptr);
        if (c < 0) break;
        conns.emplace_back([c] {
          std::string got;
          char buf[4096];
          ssize_t n;
          while ((n = ::read(c, buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
          std::string reply = "got:" + got;
          (void)!::write(c, reply.data(), reply.size());
          ::close(c);
        });
      }
      for (auto& t : conns) t.join();
    });
  }
  ~EchoListener() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port = 0;

 private:
  UniqueFd fd_;
  std::thread thread_;
};

spdy::HeaderList pf(const std::string& type, uint16_t port, int request) {
  return {{"streamtype", type}, {"port", std::to_string(port)},
          {"requestid", std::to_string(request)}};
}

TEST(SpdySession, PortForwardPipesConcurrentConnections) {
  FakeStreamBackend backend;
  EchoListener server(3);
  SpdySession s(backend, PortForwardRequest{"pod", {server.port}}, {"portforward.k8s.io"});
  ASSERT_EQ(s.response.code, 101);
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  for (int r = 0; r < 3; ++r) {
    auto err = s.client->open_stream(pf("error", server.port, r));
    auto data = s.client->open_stream(pf("data", server.port, r));
    ASSERT_TRUE(err && data);
    pairs.emplace_back(*err, *data);
  }
  // All three are open at once; each gets its own answer.
  for (int r = 2; r >= 0; --r)
    ASSERT_TRUE(s.client->send(pairs[r].second, "request " + std::to_string(r), true));
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(s.client->read_all(pairs[r].second), "got:request " + std::to_string(r));
    EXPECT_EQ(s.client->read_all(pairs[r].first), "");
    EXPECT_TRUE(s.client->finished(pairs[r].first));
  }
}

TEST(SpdySession, PortForwardToAClosedPortReportsOnTheErrorStream) {
  FakeStreamBackend backend;
  uint16_t closed_port;
  {
    EchoListener gone(0);
    closed_port = gone.port;
  }
  SpdySession s(backend, PortForwardRequest{"pod", {}}, {"portforward.k8s.io"});
  auto err = s.client->open_stream(pf("error", closed_port, 0));
  auto data = s.client->open_stream(pf("data", closed_port, 0));
  ASSERT_TRUE(err && data);
  std::string msg = s.client->read_all(*err);
  EXPECT_NE(msg.find(std::to_string(closed_port)), std::string::npos) << msg;
  EXPECT_NE(msg.find("pod"), std::string::npos) << msg;
  EXPECT_TRUE(s.client->finished(*data));
}

TEST(SpdySession, PortForwardRefusesPortsNotAskedFor) {
  FakeStreamBackend backend;
  SpdySession s(backend, PortForwardRequest{"pod", {8080}}, {"portforward.k8s.io"});
  EXPECT_FALSE(s.client->open_stream(pf("error", 22, 0)));
  EXPECT_FALSE(s.client->open_stream({{"streamtype", "data"}, {"port", "x"}}));
  EXPECT_TRUE(s.client->open_stream(pf("error", 8080, 1)));
}

}  // namespace
}  // namespace crid::stream
