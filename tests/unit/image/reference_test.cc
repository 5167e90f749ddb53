#include "image/reference.h"

#include <gtest/gtest.h>

namespace crid::image {
namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;
const std::vector<std::string> kDockerHub{"docker.io"};

std::string resolve_first(const std::string& text, const std::vector<std::string>& regs = kDockerHub) {
  auto r = resolve_reference(text, regs);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? r->front().str() : "";
}

TEST(Reference, ShortNamesGetDockerHubLibraryAndLatest) {
  EXPECT_EQ(resolve_first("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(resolve_first("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(resolve_first("user/repo"), "docker.io/user/repo:latest");
  EXPECT_EQ(resolve_first("docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(resolve_first("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
}

TEST(Reference, DigestsAndTagPlusDigest) {
  auto p = parse_reference("busybox@" + kDigest);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ref.tag, "");
  EXPECT_EQ(p->ref.digest, kDigest);
  EXPECT_EQ(p->ref.manifest_ref(), kDigest);
  EXPECT_EQ(resolve_first("busybox:1.0@" + kDigest), "docker.io/library/busybox:1.0@" + kDigest);
}

TEST(Reference, HostsWithPortsAndLocalhost) {
  auto p = parse_reference("127.0.0.1:5000/team/app:v1");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->qualified);
  EXPECT_EQ(p->ref.registry, "127.0.0.1:5000");
  EXPECT_EQ(p->ref.repository, "team/app");
  EXPECT_EQ(p->ref.tag, "v1");
  EXPECT_EQ(resolve_first("localhost/app"), "localhost/app:latest");
  EXPECT_EQ(resolve_first("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(resolve_first("quay.io/org/app"), "quay.io/org/app:latest");
  // A port-less registry with a dot, and a name whose tag looks like a port.
  EXPECT_EQ(resolve_first("app:5000"), "docker.io/library/app:5000");
}

TEST(Reference, UnqualifiedNamesUseEverySearchRegistryInOrder) {
  auto r = resolve_reference("team/app", {"quay.io", "docker.io"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].str(), "quay.io/team/app:latest");
  EXPECT_EQ((*r)[1].str(), "docker.io/team/app:latest");
  // library/ only for docker.io.
  auto s = resolve_reference("app", {"127.0.0.1:5000", "docker.io"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].str(), "127.0.0.1:5000/app:latest");
  EXPECT_EQ((*s)[1].str(), "docker.io/library/app:latest");
  // A qualified name ignores the search list.
  auto q = resolve_reference("quay.io/x/y", {"a.example", "b.example"});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->size(), 1u);
  EXPECT_FALSE(resolve_reference("app", {}).ok());
}

TEST(Reference, RejectsBadInputNamingIt) {
  for (const std::string& bad : std::vector<std::string>{"", "Busybox", "docker.io/Library/busybox", "busybox:", "busybox@sha256:abc",
                          "busybox@md5:" + kHex, "busy box", "-busybox", "busybox-", "a//b",
                          "busybox:.tag", "host:/repo", "busybox@sha256:" + std::string(64, 'A'),
                          "a..b", "/busybox", "busybox/"}) {
    auto r = parse_reference(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
    }
  }
}

TEST(Reference, SeparatorsAndLengthLimits) {
  EXPECT_TRUE(parse_reference("a_b__c.d-e---f").ok());
  EXPECT_FALSE(parse_reference("a___b").ok());
  EXPECT_TRUE(parse_reference("app:" + std::string(128, 't')).ok());
  EXPECT_FALSE(parse_reference("app:" + std::string(129, 't')).ok());
  std::string long_repo = "quay.io/" + std::string(250, 'a');
  EXPECT_FALSE(parse_reference(long_repo).ok());
  EXPECT_TRUE(parse_reference("quay.io/" + std::string(240, 'a')).ok());
}

TEST(Reference, DigestHelper) {
  EXPECT_TRUE(valid_sha256_digest(kDigest));
  EXPECT_FALSE(valid_sha256_digest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(valid_sha256_digest("sha512:" + kHex));
}

}  // namespace
}  // namespace crid::image
