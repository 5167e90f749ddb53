#include "image/registry_client.h"

#include <gtest/gtest.h>
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
