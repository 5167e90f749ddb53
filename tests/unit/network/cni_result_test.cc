#include "network/cni_result.h"

#include <gtest/gtest.h>

#include "util/fs.h"

namespace crid::network {
namespace {

std::string testdata(const std::string& name) {
  auto t = fs::read_file(std::string(CRID_TEST_DATA) + "/" + name);
  EXPECT_TRUE(t.ok());
  return t.ok() ? *t : "";
}

TEST(CniResult, ParsesABridgeResultOfSpec100) {
  auto r = parse_cni_result(testdata("bridge_result_1.0.0.json"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->cni_version, "1.0.0");
  ASSERT_EQ(r->interfaces.size(), 3u);
  EXPECT_EQ(r->interfaces[2].sandbox, "/run/crid/pods/abc/ns/net");
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].ip(), "10.85.0.4");
  EXPECT_EQ(r->ips[0].gateway, "10.85.0.1");
  EXPECT_TRUE(r->ips[1].ipv6());
  EXPECT_EQ(r->routes.size(), 2u);
  EXPECT_EQ(r->dns.nameservers, std::vector<std::string>{"10.96.0.10"});
  EXPECT_EQ(r->pod_ips(), (std::vector<std::string>{"10.85.0.4", "fd00:10:85::4"}));
}

TEST(CniResult, ParsesSpec031WithIpVersion) {
  auto r = parse_cni_result(testdata("result_0.3.1.json"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->pod_ips(), std::vector<std::string>{"192.168.1.9"});
}

TEST(CniResult, PodIpsPutIpv4FirstAndSkipHostSideInterfaces) {
  auto r = parse_cni_result(R"({"interfaces": [{"name": "br0"}, {"name": "eth0", "sandbox": "/x"}],
    "ips": [{"address": "fd00::2/64", "interface": 1}, {"address": "10.1.0.1/24", "interface": 0},
            {"address": "10.2.0.5/24", "interface": 1}, {"address": "10.3.0.5/24"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->pod_ips(), (std::vector<std::string>{"10.2.0.5", "10.3.0.5", "fd00::2"}));
}

TEST(CniResult, EmptyObjectIsAnEmptyResult) {
  auto r = parse_cni_result("{}");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->pod_ips().empty());
}

TEST(CniResult, RejectsMalformedDocuments) {
  for (const char* bad : {
           "", "[]", "not json", R"({"ips": {}})", R"({"ips": [1]})",
           R"({"ips": [{"address": "10.0.0.1"}]})",         // no prefix length
           R"({"ips": [{"address": "10.0.0.300/24"}]})",    // bad octet
           R"({"ips": [{"address": "10.0.0.1/33"}]})",      // prefix too long
           R"({"ips": [{"address": "10.0.0.1/24x"}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "gateway": "nope"}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "interface": 0}]})",  // no such interface
           R"({"ips": [{"address": "10.0.0.1/24", "interface": -1}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "interface": "0"}]})",
           R"({"interfaces": [{"mac": "x"}]})",              // nameless interface
           R"({"routes": [{"dst": "default"}]})",
           R"({"dns": []})", R"({"dns": {"nameservers": [1]}})", R"({"cniVersion": 1})"}) {
    auto r = parse_cni_result(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
      EXPECT_TRUE(r.error().message().starts_with("CNI result: ")) << r.error().message();
    }
  }
}

TEST(CniError, ParsesTheSpecErrorObject) {
  auto e = parse_cni_error(R"({"cniVersion": "1.0.0", "code": 11, "msg": "try again",
                               "details": "IPAM busy"})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 11);
  EXPECT_EQ(e->msg, "try again");
  EXPECT_EQ(e->details, "IPAM busy");
  EXPECT_FALSE(parse_cni_error("plugin crashed").has_value());
  EXPECT_FALSE(parse_cni_error(R"({"code": 1})").has_value());
}

TEST(CniVersion, ComparesMajorAndMinor) {
  EXPECT_TRUE(cni_version_at_least("1.0.0", 0, 4));
  EXPECT_TRUE(cni_version_at_least("0.4.0", 0, 4));
  EXPECT_FALSE(cni_version_at_least("0.3.1", 0, 4));
  EXPECT_FALSE(cni_version_at_least("", 0, 4));
  EXPECT_FALSE(cni_version_at_least("x.y", 0, 4));
}

}  // namespace
}  // namespace crid::network
