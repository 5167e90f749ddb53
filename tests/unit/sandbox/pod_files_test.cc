#include "sandbox/pod_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "util/fs.h"

namespace crid::sandbox {
namespace {

TEST(PodFiles, HostsListsLocalhostThenEachPodIpWithTheHostname) {
  std::string hosts = hosts_file("web-0", {"10.85.0.4", "fd00::4"});
  EXPECT_TRUE(hosts.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
  EXPECT_TRUE(hosts.ends_with("10.85.0.4\tweb-0\nfd00::4\tweb-0\n")) << hosts;
  EXPECT_EQ(hosts_file("web-0", {}).find("web-0"), std::string::npos);
}

TEST(PodFiles, ResolvConfFromTheDnsConfig) {
  DnsConfig dns{{"10.96.0.10", "fd00::a"}, {"ns.svc.cluster.local", "cluster.local"},
                {"ndots:5", "edns0"}};
  auto text = resolv_conf(dns);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "nameserver 10.96.0.10\nnameserver fd00::a\n"
            "search ns.svc.cluster.local cluster.local\noptions ndots:5 edns0\n");
}

TEST(PodFiles, ResolvConfRefusesEntriesThatWouldInjectLines) {
  EXPECT_FALSE(resolv_conf({{"dns.example"}, {}, {}}).ok());
  EXPECT_FALSE(resolv_conf({{"10.0.0.1\nnameserver 1.1.1.1"}, {}, {}}).ok());
  EXPECT_FALSE(resolv_conf({{}, {"a b"}, {}}).ok());
  EXPECT_FALSE(resolv_conf({{}, {}, {"ndots:5\nnameserver 1.1.1.1"}}).ok());
  auto e = resolv_conf({{}, {""}, {}});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(PodFiles, WritesHostnameHostsAndResolvConfFallingBackToTheHostsCopy) {
  char tmpl[] = "/tmp/crid-podfiles-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(fs::write_file_atomic(dir + "/host-resolv", "nameserver 192.0.2.53\n").ok());
  PodFilePaths paths{dir + "/pod"};
  ASSERT_TRUE(write_pod_files(paths, "p1", {"10.1.1.2"}, {}, dir + "/host-resolv").ok());
  EXPECT_EQ(*fs::read_file(paths.hostname()), "p1\n");
  EXPECT_NE(fs::read_file(paths.hosts())->find("10.1.1.2\tp1\n"), std::string::npos);
  EXPECT_EQ(*fs::read_file(paths.resolv_conf()), "nameserver 192.0.2.53\n");
  ASSERT_TRUE(write_pod_files(paths, "p1", {}, {{"10.0.0.2"}, {}, {}}, dir + "/host-resolv").ok());
  EXPECT_EQ(*fs::read_file(paths.resolv_conf()), "nameserver 10.0.0.2\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crid::sandbox
