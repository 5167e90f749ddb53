#include "image/registry_client.h"

#include <gtest/gtest.h>

#include "integration/support/loopback_http_server.h"
#include <fcntl.h>
#include <unistd.h>

namespace crid::image {
namespace {

TEST(RegistryClient, ParsesBearerChallenges) {
  auto ch = parse_www_authenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  ASSERT_TRUE(ch.ok()) << ch.error().message();
  EXPECT_EQ(ch->scheme, "bearer");
  EXPECT_EQ(ch->params["realm"], "https://auth.example/token");
  EXPECT_EQ(ch->params["service"], "registry.example");
  EXPECT_EQ(ch->params["scope"], "repository:a/b:pull,push");
  auto basic = parse_www_authenticate(R"(Basic realm="x")");
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->scheme, "basic");
  EXPECT_FALSE(parse_www_authenticate("Bearer service=x").ok());
  EXPECT_FALSE(parse_www_authenticate("Negotiate abc").ok());
  auto unquoted = parse_www_authenticate("bearer realm=http://h/t, service=s");
  ASSERT_TRUE(unquoted.ok());
  EXPECT_EQ(unquoted->params["realm"], "http://h/t");
  EXPECT_EQ(unquoted->params["service"], "s");
}

TEST(RegistryClient, Base64) {
  EXPECT_EQ(*base64_decode("YWxpY2U6czNjcmV0"), "alice:s3cret");
  EXPECT_EQ(*base64_decode("YQ=="), "a");
  EXPECT_FALSE(base64_decode("a*b").ok());
}

TEST(RegistryClient, AuthFileLookupByHost) {
  char tmpl[] = "/tmp/crid-authfile-XXXXXX";
  int fd = ::mkstemp(tmpl);
  std::string text = R"({"auths": {
    "https://index.docker.io/v1/": {"auth": "ZDpw"},
    "quay.io": {"username": "u", "password": "p"},
    "127.0.0.1:5000": {"identitytoken": "refresh"}}})";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  EXPECT_EQ(lookup_auth_file(tmpl, "docker.io")->auth, "ZDpw");
  EXPECT_EQ(lookup_auth_file(tmpl, "quay.io")->username, "u");
  EXPECT_EQ(lookup_auth_file(tmpl, "127.0.0.1:5000")->identity_token, "refresh");
  EXPECT_TRUE(lookup_auth_file(tmpl, "ghcr.io")->empty());
  EXPECT_TRUE(lookup_auth_file("/nonexistent/auth.json", "quay.io")->empty());
  std::string bad = "{not json";
  fd = ::open(tmpl, O_WRONLY | O_TRUNC);
  ASSERT_EQ(::write(fd, bad.data(), bad.size()), static_cast<ssize_t>(bad.size()));
  ::close(fd);
  auto r = lookup_auth_file(tmpl, "quay.io");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(tmpl), std::string::npos);
  ::unlink(tmpl);
}

}  // namespace
}  // namespace crid::image

namespace crid::image {
namespace {

using crid::testing::HttpReply;
using crid::testing::HttpRequest;
using crid::testing::LoopbackHttpServer;

// The registry's HTTP answers mapped to error kinds the kubelet acts on.
TEST(RegistryClient, HttpErrorsMapToKindsWithTheRegistrysWords) {
  int status = 429;
  LoopbackHttpServer server([&](const HttpRequest&) {
    HttpReply r;
    r.status = status;
    r.body = R"({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]})";
    return r;
  });
  Config cfg = default_config();
  cfg.registries[server.host()].insecure = true;
  ConfigHolder holder(cfg);
  RegistryClient client(holder);
  Reference ref{server.host(), "app", "v1", ""};
  struct Case {
    int status;
    ErrorKind kind;
    const char* words;
  };
  for (Case c : {Case{429, ErrorKind::kResourceExhausted, "toomanyrequests"},
                 Case{401, ErrorKind::kUnauthenticated, "unauthorized"},
                 Case{403, ErrorKind::kPermissionDenied, "denied"},
                 Case{404, ErrorKind::kNotFound, "manifest unknown"},
                 Case{503, ErrorKind::kUnavailable, "HTTP 503"}}) {
    status = c.status;
    auto r = client.get_manifest(ref, "v1", {});
    ASSERT_FALSE(r.ok()) << c.status;
    EXPECT_EQ(r.error().kind(), c.kind) << c.status << ": " << r.error().message();
    EXPECT_NE(r.error().message().find(c.words), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find(server.host()), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("slow down"), std::string::npos) << r.error().message();
  }
  // Every request asked for all four manifest media types.
  for (auto& req : server.full_requests()) {
    EXPECT_NE(req.header("accept").find("application/vnd.oci.image.index.v1+json"), std::string::npos);
    EXPECT_NE(req.header("accept").find("application/vnd.docker.distribution.manifest.v2+json"), std::string::npos);
  }
}

TEST(RegistryClient, SecureRegistriesAreNotDowngradedToHttp) {
  LoopbackHttpServer server([&](const HttpRequest&) { return HttpReply{}; });
  Config cfg = default_config();  // the registry is not marked insecure
  cfg.pull_progress_timeout = std::chrono::seconds(1);
  ConfigHolder holder(cfg);
  RegistryClient client(holder);
  auto r = client.get_manifest({server.host(), "app", "v1", ""}, "v1", {});
  ASSERT_FALSE(r.ok());
  // A TLS hello is not HTTP: the plain server never saw a request.
  EXPECT_TRUE(server.requests().empty());
  EXPECT_NE(r.error().message().find("https://" + server.host()), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace crid::image
