#include "stream/websocket_handshake.h"

#include <gtest/gtest.h>

#include <array>

#include "unit/stream/websocket_test_support.h"

namespace crid::stream::ws {
namespace {

using crid::stream::testing::upgrade_request;

constexpr std::array<std::string_view, 3> kSupported{"v5.channel.k8s.io", "v4.channel.k8s.io", ""};

TEST(WebSocketHandshake, AcceptKeyFromRfc6455) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, AcceptsAndNamesTheProtocol) {
  Handshake h = negotiate(upgrade_request("v5.channel.k8s.io"), kSupported);
  ASSERT_TRUE(h.accepted()) << h.reason;
  EXPECT_EQ(h.protocol, "v5.channel.k8s.io");
  EXPECT_EQ(h.response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n");
}

TEST(WebSocketHandshake, ClientPreferenceOrderWins) {
  Handshake h = negotiate(upgrade_request("bogus, v4.channel.k8s.io, v5.channel.k8s.io"), kSupported);
  ASSERT_TRUE(h.accepted());
  EXPECT_EQ(h.protocol, "v4.channel.k8s.io");
  // Offers spread over repeated headers count too.
  HttpRequest r = upgrade_request("bogus");
  r.headers.emplace_back("sec-websocket-protocol", "v5.channel.k8s.io");
  h = negotiate(r, kSupported);
  ASSERT_TRUE(h.accepted());
  EXPECT_EQ(h.protocol, "v5.channel.k8s.io");
}

TEST(WebSocketHandshake, NoProtocolOfferedWhenEmptyIsSupported) {
  Handshake h = negotiate(upgrade_request(""), kSupported);
  ASSERT_TRUE(h.accepted());
  EXPECT_EQ(h.protocol, "");
  EXPECT_EQ(h.response.find("Sec-WebSocket-Protocol"), std::string::npos);

  constexpr std::array<std::string_view, 1> only_v5{"v5.channel.k8s.io"};
  h = negotiate(upgrade_request(""), only_v5);
  EXPECT_EQ(h.status, 400);
}

TEST(WebSocketHandshake, UnsupportedProtocolIs400WithReason) {
  Handshake h = negotiate(upgrade_request("v9.channel.k8s.io"), kSupported);
  EXPECT_EQ(h.status, 400);
  EXPECT_NE(h.reason.find("v9.channel.k8s.io"), std::string::npos);
  EXPECT_NE(h.reason.find("v5.channel.k8s.io"), std::string::npos);  // says what is supported
  EXPECT_EQ(h.response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_NE(h.response.find(h.reason), std::string::npos);
}

TEST(WebSocketHandshake, WrongVersionIs426NamingVersion13) {
  HttpRequest r = upgrade_request("v5.channel.k8s.io");
  for (auto& [k, v] : r.headers)
    if (k == "Sec-WebSocket-Version") v = "8";
  Handshake h = negotiate(r, kSupported);
  EXPECT_EQ(h.status, 426);
  EXPECT_NE(h.response.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(h.reason.find("\"8\""), std::string::npos);
}

TEST(WebSocketHandshake, MalformedRequestsRefused) {
  auto without = [](std::string_view name) {
    HttpRequest r = upgrade_request("v5.channel.k8s.io");
    std::erase_if(r.headers, [&](const auto& h) { return h.first == name; });
    return r;
  };
  EXPECT_EQ(negotiate(without("Sec-WebSocket-Key"), kSupported).status, 400);
  EXPECT_EQ(negotiate(without("Sec-WebSocket-Version"), kSupported).status, 426);
  EXPECT_EQ(negotiate(without("Upgrade"), kSupported).status, 400);
  EXPECT_EQ(negotiate(without("Connection"), kSupported).status, 400);

  HttpRequest post = upgrade_request("v5.channel.k8s.io");
  post.method = "POST";
  Handshake h = negotiate(post, kSupported);
  EXPECT_EQ(h.status, 400);
  EXPECT_NE(h.reason.find("POST"), std::string::npos);

  HttpRequest short_key = upgrade_request("v5.channel.k8s.io");
  for (auto& [k, v] : short_key.headers)
    if (k == "Sec-WebSocket-Key") v = "c2hvcnQ=";  // "short"
  h = negotiate(short_key, kSupported);
  EXPECT_EQ(h.status, 400);
  EXPECT_NE(h.reason.find("16 bytes"), std::string::npos);
}

TEST(WebSocketHandshake, HeaderTokensAreCaseInsensitiveLists) {
  HttpRequest r = upgrade_request("v4.channel.k8s.io");
  for (auto& [k, v] : r.headers) {
    if (k == "Connection") v = "keep-alive, UPGRADE";
    if (k == "Upgrade") v = "WebSocket";
  }
  EXPECT_TRUE(negotiate(r, kSupported).accepted());
}

}  // namespace
}  // namespace crid::stream::ws
