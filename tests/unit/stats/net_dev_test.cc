#include "stats/net_dev.h"

#include <gtest/gtest.h>

namespace crid::stats {
namespace {

const char* kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
    "    lo:    1234      12    0    0    0     0          0         0     1234      12    0    0    0     0       0          0\n"
    "  eth0: 9876543    6543    2    3    0     0          0         0   123456     789    4    5    0     0       0          0\n"
    "  net1:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n";

TEST(ProcNetDev, ParsesCountersSkippingLoopback) {
  auto v = parse_proc_net_dev(kNetDev);
  ASSERT_TRUE(v) << v.error().message();
  ASSERT_EQ(v->size(), 2u);
  const auto& e = (*v)[0];
  EXPECT_EQ(e.name, "eth0");
  EXPECT_EQ(e.rx_bytes, 9876543u);
  EXPECT_EQ(e.rx_packets, 6543u);
  EXPECT_EQ(e.rx_errors, 2u);
  EXPECT_EQ(e.rx_dropped, 3u);
  EXPECT_EQ(e.tx_bytes, 123456u);
  EXPECT_EQ(e.tx_packets, 789u);
  EXPECT_EQ(e.tx_errors, 4u);
  EXPECT_EQ(e.tx_dropped, 5u);
  EXPECT_EQ((*v)[1].name, "net1");
}

TEST(ProcNetDev, NoColonSpaceStillParses) {
  // Large counters run into the colon: "eth0:12345678901".
  std::string text = std::string("h1\nh2\n") +
                     "eth0:12345678901 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n";
  auto v = parse_proc_net_dev(text);
  ASSERT_TRUE(v) << v.error().message();
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ((*v)[0].rx_bytes, 12345678901u);
  EXPECT_EQ((*v)[0].tx_bytes, 99u);
}

TEST(ProcNetDev, ShortOrGarbledLinesAreErrors) {
  auto short_line = parse_proc_net_dev("h1\nh2\neth0: 1 2 3\n");
  ASSERT_FALSE(short_line);
  EXPECT_NE(short_line.error().message().find("eth0"), std::string::npos);
  EXPECT_FALSE(parse_proc_net_dev("h1\nh2\neth0 1 2 3\n"));
  EXPECT_FALSE(parse_proc_net_dev("h1\nh2\neth0: 1 2 x 4 5 6 7 8 9 10 11 12 13 14 15 16\n"));
}

TEST(ProcNetDev, OwnNamespaceReads) {
  // The daemon's own namespace (host-network pods): always has a header.
  auto v = read_netns_counters("");
  ASSERT_TRUE(v) << v.error().message();
  for (const auto& i : *v) EXPECT_NE(i.name, "lo");
}

TEST(ProcNetDev, MissingNamespaceIsAnErrorNamingIt) {
  auto v = read_netns_counters("/nonexistent/ns/net");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("/nonexistent/ns/net"), std::string::npos);
}

}  // namespace
}  // namespace crid::stats
