#include "stream/http_head.h"

#include <gtest/gtest.h>

namespace crid::stream {
namespace {

TEST(HttpHead, ParsesRequestLineQueryAndHeaders) {
  auto r = parse_http_request_head(
      "POST /exec/abc%2Dd?command=ls&command=-l&tty=1&x=a+b HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
      "x-stream-protocol-version:  channel.k8s.io \r\nUpgrade: SPDY/3.1\r\n\r\n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/exec/abc-d");
  EXPECT_EQ(r->query_values("command"), (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(r->query_values("x"), (std::vector<std::string>{"a b"}));
  EXPECT_TRUE(r->query_values("missing").empty());
  EXPECT_EQ(r->header("upgrade"), "SPDY/3.1");
  EXPECT_EQ(r->header("X-STREAM-PROTOCOL-VERSION"), "v4.channel.k8s.io, channel.k8s.io");
  EXPECT_FALSE(r->header("Connection"));
}

TEST(HttpHead, RejectsMalformedHeads) {
  for (const char* bad : {
           "GET /x HTTP/1.1\r\n",                          // no empty line
           "GET /x\r\n\r\n",                               // no version
           "GET x HTTP/1.1\r\n\r\n",                       // relative target
           "GET /x HTTP/2.0\r\n\r\n",                      // not 1.x
           "GET /x HTTP/1.1\r\nNoColon\r\n\r\n",           // header without ':'
           "GET /x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",   // obs-fold
           "GET /%zz HTTP/1.1\r\n\r\n",                    // bad escape
           "GET /x% HTTP/1.1\r\n\r\n",                     // truncated escape
           "G(T /x HTTP/1.1\r\n\r\n",                      // bad method
           "GET /x HTTP/1.1\r\nA: b\x01\r\n\r\n",          // control byte
       }) {
    EXPECT_FALSE(parse_http_request_head(bad)) << bad;
  }
}

TEST(HttpHead, ResponseHasLengthAndCloses) {
  std::string r = http_response(404, "Not Found", "nope\n", {{"X-A", "1"}});
  EXPECT_EQ(r,
            "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\nnope\n");
}

}  // namespace
}  // namespace crid::stream
