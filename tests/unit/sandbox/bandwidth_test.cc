#include "sandbox/bandwidth.h"

#include <gtest/gtest.h>

namespace crid::sandbox {
namespace {

TEST(Quantity, ParsesDecimalAndBinarySuffixes) {
  EXPECT_EQ(*parse_quantity("100"), 100);
  EXPECT_EQ(*parse_quantity("10k"), 10000);
  EXPECT_EQ(*parse_quantity("1.5M"), 1500000);
  EXPECT_EQ(*parse_quantity("2Gi"), 2147483648);
  EXPECT_EQ(*parse_quantity("1500m"), 2);  // 1.5 rounded up
  EXPECT_EQ(*parse_quantity("1P"), 1000000000000000);
}

TEST(Quantity, RejectsMalformedValues) {
  for (const char* bad : {"", "M", "-1M", "1.2.3", ".5", "5.", "1 M", "1MB", "1e3", "10E",
                          "99999999999999999999999"})
    EXPECT_FALSE(parse_quantity(bad).ok()) << bad;
}

TEST(Bandwidth, AnnotationsBecomeTheCniBandwidthObject) {
  auto bw = bandwidth_from_annotations({{"kubernetes.io/ingress-bandwidth", "1M"},
                                        {"kubernetes.io/egress-bandwidth", "2M"},
                                        {"other", "x"}});
  ASSERT_TRUE(bw.ok());
  EXPECT_EQ((*bw)["ingressRate"], 1000000);
  EXPECT_EQ((*bw)["egressRate"], 2000000);
  EXPECT_GT((*bw)["ingressBurst"].get<int64_t>(), 0);
  EXPECT_TRUE(bandwidth_from_annotations({{"other", "x"}})->is_null());
}

TEST(Bandwidth, MalformedAnnotationIsNamed) {
  auto bw = bandwidth_from_annotations({{"kubernetes.io/egress-bandwidth", "fast"}});
  ASSERT_FALSE(bw.ok());
  EXPECT_EQ(bw.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(bw.error().message().find("kubernetes.io/egress-bandwidth"), std::string::npos);
  EXPECT_FALSE(bandwidth_from_annotations({{"kubernetes.io/egress-bandwidth", "0"}}).ok());
}

}  // namespace
}  // namespace crid::sandbox
