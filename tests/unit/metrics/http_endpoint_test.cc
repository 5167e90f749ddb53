#include "metrics/http_endpoint.h"

#include <gtest/gtest.h>

#include "metrics/listen_address.h"

namespace crid::metrics {
namespace {

const RenderFn kText = [] { return std::string("up 1\n"); };

TEST(ListenAddress, LoopbackByDefault) {
  auto a = parse_listen_address(":9090");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9090);
  EXPECT_EQ(parse_listen_address("localhost:1")->host, "127.0.0.1");
}

TEST(ListenAddress, ExplicitAddresses) {
  auto v4 = parse_listen_address("127.0.0.1:0");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->str(), "127.0.0.1:0");
  auto v6 = parse_listen_address("[::1]:9100");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->str(), "[::1]:9100");
  auto any = parse_listen_address("0.0.0.0:9100");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "0.0.0.0");
  auto ux = parse_listen_address("unix:///run/crid/metrics.sock");
  ASSERT_TRUE(ux.ok());
  EXPECT_TRUE(ux->is_unix);
  EXPECT_EQ(ux->path, "/run/crid/metrics.sock");
}

TEST(ListenAddress, BadAddressesSayWhy) {
  for (const char* bad : {"9090", "127.0.0.1:http", "127.0.0.1:70000", "example.com:9090", "unix://relative",
                          "[::1:9090", "::1:9090"}) {
    auto a = parse_listen_address(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_NE(a.error().message().find(bad), std::string::npos) << a.error().message();
  }
}

TEST(HttpResponse, MetricsGet) {
  std::string r = http_response("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", kText);
  EXPECT_EQ(r,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\nup 1\n");
}

TEST(HttpResponse, HeadHasNoBodyAndQueryIsIgnored) {
  std::string r = http_response("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", kText);
  EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST(HttpResponse, Errors) {
  EXPECT_EQ(http_response("GET / HTTP/1.1\r\n\r\n", kText).substr(0, 12), "HTTP/1.1 404");
  EXPECT_EQ(http_response("POST /metrics HTTP/1.1\r\n\r\n", kText).substr(0, 12), "HTTP/1.1 405");
  EXPECT_EQ(http_response("hello\r\n\r\n", kText).substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(http_response("GET /metrics SPDY\r\n\r\n", kText).substr(0, 12), "HTTP/1.1 400");
}

}  // namespace
}  // namespace crid::metrics
