// Whole WebSocket sessions over a socketpair: serve_websocket on one end
// with a fake backend, a hand-rolled client on the other.
#include "stream/websocket_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <thread>

#include "unit/stream/websocket_test_support.h"

namespace crid::stream {
namespace {

using testing::FakeBackend;
using testing::PongServer;
using testing::socket_pair;
using testing::SocketByteStream;
using testing::upgrade_request;
using testing::WsClient;
using ws::ChannelCodec;

constexpr char kCloseStdin[] = "\xff\x00";

class WebSocketSession : public ::testing::Test {
 protected:
  void start(HttpRequest req, StreamRequest what) {
    auto [server_end, client_end] = socket_pair();
    client_ = std::make_unique<WsClient>(std::move(client_end));
    server_ = std::thread([this, req = std::move(req), what = std::move(what),
                           fd = std::move(server_end)]() mutable {
      serve_websocket(std::make_unique<SocketByteStream>(std::move(fd)), req, what, backend_,
                      limits_);
    });
  }
  // Starts and expects the 101 with `protocol`.
  void open(const std::string& offered, StreamRequest what, const std::string& protocol,
            std::vector<std::pair<std::string, std::string>> query = {}) {
    start(upgrade_request(offered, std::move(query)), std::move(what));
    std::string head = client_->read_response_head();
    ASSERT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0u) << head;
    if (!protocol.empty()) {
      EXPECT_NE(head.find("Sec-WebSocket-Protocol: " + protocol + "\r\n"), std::string::npos)
          << head;
    }
  }
  void finish() {
    if (server_.joinable()) server_.join();
  }
  void TearDown() override {
    if (server_.joinable()) {
      client_->close_socket();
      server_.join();
    }
  }
  void close_stdin() { client_->send(ws::Opcode::kBinary, std::string_view(kCloseStdin, 2)); }

  static nlohmann::json status_of(const WsClient::Collected& c) {
    auto j = nlohmann::json::parse(c.error_data, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << c.error_data;
    return j;
  }

  FakeBackend backend_;
  SessionLimits limits_;
  std::unique_ptr<WsClient> client_;
  std::thread server_;
};

ExecRequest exec_of(std::vector<std::string> cmd, bool in, bool out, bool err, bool tty = false) {
  ExecRequest r;
  r.container_id = "c0ffee0123456789";
  r.cmd = std::move(cmd);
  r.stdin = in;
  r.stdout = out;
  r.stderr = err;
  r.tty = tty;
  return r;
}

TEST_F(WebSocketSession, V5EchoThroughStdinAndStdout) {
  open("v5.channel.k8s.io", exec_of({"cat"}, true, true, true), "v5.channel.k8s.io");
  client_->send_channel(ChannelCodec::kBinary, 0, "hello ");
  client_->send_channel(ChannelCodec::kBinary, 0, "world\n");
  close_stdin();
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  // The first stdout message is kubelet's empty "streams are up" notice.
  ASSERT_FALSE(c.stdout_messages.empty());
  EXPECT_EQ(c.stdout_messages[0], "");
  EXPECT_EQ(c.stdout_data, "hello world\n");
  EXPECT_EQ(status_of(c)["status"], "Success");
  EXPECT_EQ(c.close_code, ws::close_code::kNormal);
  EXPECT_TRUE(backend_.got_in());
  EXPECT_TRUE(backend_.got_err());
  EXPECT_FALSE(backend_.got_resize());
  EXPECT_FALSE(backend_.cancelled());
}

TEST_F(WebSocketSession, LargeStdinIsNotLost) {
  open("v5.channel.k8s.io", exec_of({"cat"}, true, true, false), "v5.channel.k8s.io");
  std::string big;
  for (int i = 0; i < 3 << 20; ++i) big.push_back(static_cast<char>('a' + i % 26));
  // Sent from another thread: the session pushes back while the fake
  // process is slower than the client.
  std::thread sender([&] {
    for (size_t off = 0; off < big.size(); off += 32 * 1024) {
      client_->send_channel(ChannelCodec::kBinary, 0, std::string_view(big).substr(off, 32 * 1024));
    }
    close_stdin();
  });
  auto c = client_->collect(ChannelCodec::kBinary);
  sender.join();
  finish();
  EXPECT_EQ(c.stdout_data.size(), big.size());
  EXPECT_TRUE(c.stdout_data == big);
  EXPECT_EQ(status_of(c)["status"], "Success");
}

TEST_F(WebSocketSession, V4ExitCodeInTheStatus) {
  open("v4.channel.k8s.io", exec_of({"exit", "3", "out", "err"}, false, true, true),
       "v4.channel.k8s.io");
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.stdout_data, "out");
  EXPECT_EQ(c.stderr_data, "err");
  auto status = status_of(c);
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "NonZeroExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["message"], "3");
  EXPECT_EQ(c.close_code, ws::close_code::kNormal);
}

TEST_F(WebSocketSession, ChannelK8sIoReportsPlainTextErrors) {
  open("channel.k8s.io", exec_of({"exit", "4", "o"}, false, true, false), "channel.k8s.io");
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.stdout_data, "o");
  EXPECT_EQ(c.error_data, "command terminated with non-zero exit code: exit status 4");
}

TEST_F(WebSocketSession, ChannelK8sIoSaysNothingOnSuccess) {
  open("channel.k8s.io", exec_of({"exit", "0", "o"}, false, true, false), "channel.k8s.io");
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.stdout_data, "o");
  EXPECT_EQ(c.error_data, "");
  EXPECT_EQ(c.close_code, ws::close_code::kNormal);
}

TEST_F(WebSocketSession, NoProtocolOfferedFallsBackToChannelK8sIo) {
  open("", exec_of({"exit", "5"}, false, true, false), "");
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.error_data, "command terminated with non-zero exit code: exit status 5");
}

TEST_F(WebSocketSession, BackendErrorIsAnInternalErrorStatus) {
  open("v5.channel.k8s.io", exec_of({"fail"}, false, true, false), "v5.channel.k8s.io");
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  auto status = status_of(c);
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "InternalError");
  EXPECT_NE(status["message"].get<std::string>().find("no such process"), std::string::npos);
}

TEST_F(WebSocketSession, ResizeBecomesTerminalSizeRecords) {
  open("v5.channel.k8s.io", exec_of({"resize"}, true, true, false, true), "v5.channel.k8s.io");
  client_->send_channel(ChannelCodec::kBinary, 4, R"({"Width":100,"Height":40})");
  // One object split over two messages, then two in one.
  client_->send_channel(ChannelCodec::kBinary, 4, R"({"Width":80,)");
  client_->send_channel(ChannelCodec::kBinary, 4, R"("Height":24}{"Width":1,"Height":2})");
  // Wait for them to come back before ending stdin, which ends the fake.
  std::string out;
  while (out.size() < std::string("100x40\n80x24\n1x2\n").size()) {
    auto m = client_->next();
    ASSERT_TRUE(m);
    auto cm = ws::decode_channel_message(ChannelCodec::kBinary, *m);
    ASSERT_TRUE(cm);
    if (*cm && (*cm)->channel == 1) out += (*cm)->data;
  }
  EXPECT_EQ(out, "100x40\n80x24\n1x2\n");
  close_stdin();
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(status_of(c)["status"], "Success");
  EXPECT_TRUE(backend_.got_resize());
  EXPECT_FALSE(backend_.got_err());  // a terminal has no stderr
}

TEST_F(WebSocketSession, Base64VariantUsesTextFrames) {
  open("base64.channel.k8s.io", exec_of({"exit", "0", "out\n", "err\n"}, false, true, true),
       "base64.channel.k8s.io");
  std::vector<ws::Opcode> opcodes;
  WsClient::Collected c;
  while (auto m = client_->next()) {
    if (m->opcode == ws::Opcode::kClose) {
      client_->send_best_effort(ws::Opcode::kClose, m->payload);
      break;
    }
    opcodes.push_back(m->opcode);
    auto cm = ws::decode_channel_message(ChannelCodec::kBase64, *m);
    ASSERT_TRUE(cm && *cm) << m->payload;
    if ((*cm)->channel == 1) c.stdout_data += (*cm)->data;
    if ((*cm)->channel == 2) c.stderr_data += (*cm)->data;
  }
  finish();
  EXPECT_EQ(c.stdout_data, "out\n");
  EXPECT_EQ(c.stderr_data, "err\n");
  ASSERT_FALSE(opcodes.empty());
  for (ws::Opcode op : opcodes) EXPECT_EQ(op, ws::Opcode::kText);
}

TEST_F(WebSocketSession, Base64StdinAndV4Status) {
  open("v4.base64.channel.k8s.io", exec_of({"cat"}, true, true, false), "v4.base64.channel.k8s.io");
  client_->send_channel(ChannelCodec::kBase64, 0, "typed\n");
  std::string out;
  while (out != "typed\n") {
    auto m = client_->next();
    ASSERT_TRUE(m);
    auto cm = ws::decode_channel_message(ChannelCodec::kBase64, *m);
    ASSERT_TRUE(cm);
    if (*cm && (*cm)->channel == 1) out += (*cm)->data;
  }
  // No close signal before v5: the client ends the session by closing.
  client_->send(ws::Opcode::kClose, ws::close_payload(1000, ""));
  auto c = client_->collect(ChannelCodec::kBase64);
  finish();
  EXPECT_EQ(c.close_code, 1000);  // our close echoed
  EXPECT_TRUE(backend_.cancelled());
}

TEST_F(WebSocketSession, PingGetsPong) {
  open("v5.channel.k8s.io", exec_of({"wait-cancel"}, false, true, false), "v5.channel.k8s.io");
  client_->send(ws::Opcode::kPing, "are you there");
  std::optional<ws::Message> pong;
  while (auto m = client_->next()) {
    if (m->opcode == ws::Opcode::kPong) {
      pong = m;
      break;
    }
  }
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->payload, "are you there");
  client_->send(ws::Opcode::kClose, ws::close_payload(1000, "done"));
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.close_code, 1000);
}

TEST_F(WebSocketSession, ClientVanishingCancelsTheBackend) {
  open("v5.channel.k8s.io", exec_of({"wait-cancel"}, true, true, false), "v5.channel.k8s.io");
  auto first = client_->next();  // the empty stdout notice: the session is up
  ASSERT_TRUE(first);
  client_->close_socket();
  finish();
  EXPECT_TRUE(backend_.cancelled());
}

TEST_F(WebSocketSession, CloseFrameCancelsAndIsAnswered) {
  open("v4.channel.k8s.io", exec_of({"wait-cancel"}, false, true, false), "v4.channel.k8s.io");
  client_->send(ws::Opcode::kClose, ws::close_payload(1001, "leaving"));
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.close_code, 1001);
  EXPECT_TRUE(backend_.cancelled());
  // Nothing after the close frame: no status once the client has left.
  EXPECT_EQ(c.error_data, "");
}

TEST_F(WebSocketSession, IdleTimeoutClosesAndCancels) {
  limits_.idle_timeout = std::chrono::milliseconds(200);
  open("v5.channel.k8s.io", exec_of({"wait-cancel"}, true, true, false), "v5.channel.k8s.io");
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.close_code, ws::close_code::kPolicyViolation);
  EXPECT_EQ(c.close_reason, "idle timeout");
  EXPECT_TRUE(backend_.cancelled());
}

TEST_F(WebSocketSession, UnmaskedFrameIsAProtocolError) {
  open("v5.channel.k8s.io", exec_of({"wait-cancel"}, true, true, false), "v5.channel.k8s.io");
  client_->send_raw(ws::encode_frame(ws::Opcode::kBinary, std::string("\0x", 2)));
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.close_code, ws::close_code::kProtocolError);
  EXPECT_NE(c.close_reason.find("not masked"), std::string::npos);
  EXPECT_TRUE(backend_.cancelled());
}

TEST_F(WebSocketSession, OversizedMessageClosesWith1009) {
  open("v5.channel.k8s.io", exec_of({"wait-cancel"}, true, true, false), "v5.channel.k8s.io");
  // Just a header announcing 2 MiB: refused before the payload.
  client_->send_raw(std::string("\x82\xff\x00\x00\x00\x00\x00\x20\x00\x00\x01\x02\x03\x04", 14));
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.close_code, ws::close_code::kTooBig);
}

TEST_F(WebSocketSession, QueryNarrowsTheStreams) {
  open("v5.channel.k8s.io", exec_of({"exit", "0", "o", "e"}, true, true, true),
       "v5.channel.k8s.io", {{"stdin", "0"}, {"stdout", "1"}, {"stderr", "false"}});
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.stdout_data, "o");
  EXPECT_EQ(c.stderr_data, "");
  EXPECT_FALSE(backend_.got_in());
  EXPECT_FALSE(backend_.got_err());
  ASSERT_TRUE(backend_.last_exec());
  EXPECT_FALSE(backend_.last_exec()->stdin);
}

TEST_F(WebSocketSession, QueryCannotWidenTheRequest) {
  start(upgrade_request("v5.channel.k8s.io", {{"stdin", "1"}}),
        exec_of({"cat"}, false, true, false));
  std::string reply = client_->read_to_end();
  finish();
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
  EXPECT_NE(reply.find("stdin"), std::string::npos);
  EXPECT_FALSE(backend_.last_exec());
}

TEST_F(WebSocketSession, UnsupportedSubprotocolGets400) {
  start(upgrade_request("v3.channel.k8s.io"), exec_of({"cat"}, true, true, false));
  std::string reply = client_->read_to_end();
  finish();
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
  EXPECT_NE(reply.find("v3.channel.k8s.io"), std::string::npos);
  EXPECT_FALSE(backend_.last_exec());
}

TEST_F(WebSocketSession, OutputHeldOpenByAGrandchildEndsAfterTheGrace) {
  open("v5.channel.k8s.io", exec_of({"linger", "bye\n"}, false, true, false), "v5.channel.k8s.io");
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  backend_.drop_lingering();
  EXPECT_EQ(c.stdout_data, "bye\n");
  EXPECT_EQ(status_of(c)["status"], "Success");
}

TEST_F(WebSocketSession, AttachPumpsUntilStdinCloses) {
  AttachRequest a;
  a.container_id = "attached0123";
  a.stdin = a.stdout = true;
  open("v5.channel.k8s.io", a, "v5.channel.k8s.io");
  client_->send_channel(ChannelCodec::kBinary, 0, "line\n");
  close_stdin();
  auto c = client_->collect(ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(c.stdout_data, "attached\nline\n");
  EXPECT_EQ(status_of(c)["status"], "Success");
  ASSERT_TRUE(backend_.last_attach());
  EXPECT_EQ(backend_.last_attach()->container_id, "attached0123");
  EXPECT_FALSE(backend_.cancelled());
}

// ---- port-forward ----

uint16_t closed_port() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len);
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);  // closed again when s goes
}

std::string le16(uint16_t port) {
  return std::string{static_cast<char>(port & 0xFF), static_cast<char>(port >> 8)};
}

struct ChannelData {
  std::map<int, std::string> data;
  std::map<int, std::string> first;
  std::optional<uint16_t> close_code;
};

ChannelData collect_channels(WsClient& client, ChannelCodec codec) {
  ChannelData out;
  while (auto m = client.next()) {
    if (m->opcode == ws::Opcode::kClose) {
      auto info = ws::parse_close_payload(m->payload);
      if (info) out.close_code = info->code;
      client.send_best_effort(ws::Opcode::kClose, m->payload);
      break;
    }
    auto cm = ws::decode_channel_message(codec, *m);
    if (!cm || !*cm) continue;
    int ch = (*cm)->channel;
    if (!out.first.count(ch)) {
      out.first[ch] = (*cm)->data;
    } else {
      out.data[ch] += (*cm)->data;
    }
  }
  return out;
}

TEST_F(WebSocketSession, PortForwardToALoopbackListener) {
  PongServer server;
  PortForwardRequest pf{"pod0123456789", {}};
  open("v4.channel.k8s.io", pf, "v4.channel.k8s.io", {{"port", std::to_string(server.port())}});
  client_->send_channel(ChannelCodec::kBinary, 0, "ping");
  auto got = collect_channels(*client_, ChannelCodec::kBinary);
  finish();
  // Each channel opens with the port, little-endian.
  EXPECT_EQ(got.first[0], le16(server.port()));
  EXPECT_EQ(got.first[1], le16(server.port()));
  EXPECT_EQ(got.data[0], "pong:ping");
  EXPECT_EQ(got.data[1], "");
  // The listener closed after answering: the session ends cleanly.
  EXPECT_EQ(got.close_code, ws::close_code::kNormal);
}

TEST_F(WebSocketSession, PortForwardTwoPortsOneClosed) {
  PongServer server;
  uint16_t dead = closed_port();
  PortForwardRequest pf{"pod0123456789", {dead, server.port()}};
  open("portforward.k8s.io", pf, "portforward.k8s.io");
  client_->send_channel(ChannelCodec::kBinary, 2, "two");
  auto got = collect_channels(*client_, ChannelCodec::kBinary);
  finish();
  EXPECT_EQ(got.first[0], le16(dead));
  EXPECT_EQ(got.first[1], le16(dead));
  EXPECT_EQ(got.first[2], le16(server.port()));
  EXPECT_EQ(got.first[3], le16(server.port()));
  EXPECT_NE(got.data[1].find("error forwarding port " + std::to_string(dead) + " to pod pod0123456789"),
            std::string::npos)
      << got.data[1];
  EXPECT_NE(got.data[1].find("refused"), std::string::npos) << got.data[1];
  EXPECT_EQ(got.data[2], "pong:two");
  EXPECT_EQ(got.data[3], "");
}

TEST_F(WebSocketSession, PortForwardBase64) {
  PongServer server;
  PortForwardRequest pf{"pod0123456789", {server.port()}};
  open("v4.base64.channel.k8s.io", pf, "v4.base64.channel.k8s.io");
  client_->send_channel(ChannelCodec::kBase64, 0, "b64");
  auto got = collect_channels(*client_, ChannelCodec::kBase64);
  finish();
  EXPECT_EQ(got.first[0], le16(server.port()));
  EXPECT_EQ(got.data[0], "pong:b64");
}

TEST_F(WebSocketSession, PortForwardWithoutPortsIs400) {
  start(upgrade_request("v4.channel.k8s.io"), PortForwardRequest{"pod", {}});
  std::string reply = client_->read_to_end();
  finish();
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
  EXPECT_NE(reply.find("port"), std::string::npos);
}

TEST_F(WebSocketSession, PortForwardClientVanishing) {
  // A listener that never answers: the session ends when the client goes.
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  open("v4.channel.k8s.io", PortForwardRequest{"pod", {ntohs(addr.sin_port)}}, "v4.channel.k8s.io");
  ASSERT_TRUE(client_->next());  // port prefix: the session is up
  UniqueFd accepted(::accept(listener.get(), nullptr, nullptr));
  client_->close_socket();
  finish();
  // The session closed its connection to the "pod".
  char c;
  EXPECT_EQ(::recv(accepted.get(), &c, 1, 0), 0);
}

}  // namespace
}  // namespace crid::stream

namespace crid::stream {
namespace {

size_t entries_in(const char* dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST_F(WebSocketSession, ManySessionsLeakNoFdsOrThreads) {
  auto run_one = [this](int i) {
    open("v5.channel.k8s.io", exec_of({"cat"}, true, true, true), "v5.channel.k8s.io");
    std::string line = "session " + std::to_string(i) + "\n";
    client_->send_channel(ChannelCodec::kBinary, 0, line);
    close_stdin();
    auto c = client_->collect(ChannelCodec::kBinary);
    finish();
    EXPECT_EQ(c.stdout_data, line);
    client_.reset();
  };
  run_one(-1);  // warm up whatever the first session allocates once
  size_t fds = entries_in("/proc/self/fd");
  size_t threads = entries_in("/proc/self/task");
  for (int i = 0; i < 100; ++i) run_one(i);
  // Half with a client that vanishes mid-session.
  for (int i = 0; i < 50; ++i) {
    open("v4.channel.k8s.io", exec_of({"wait-cancel"}, true, true, false), "v4.channel.k8s.io");
    ASSERT_TRUE(client_->next());
    client_->close_socket();
    finish();
    client_.reset();
  }
  EXPECT_EQ(entries_in("/proc/self/fd"), fds);
  EXPECT_EQ(entries_in("/proc/self/task"), threads);
}

}  // namespace
}  // namespace crid::stream
