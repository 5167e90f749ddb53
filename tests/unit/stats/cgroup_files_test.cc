#include "stats/cgroup_files.h"

#include <gtest/gtest.h>

namespace crid::stats {
namespace {

TEST(KeyedValues, ParsesMemoryStat) {
  auto m = parse_keyed_values("cache 10301440\nrss 11739136\n\ntotal_inactive_file 16384\n", "memory.stat");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->size(), 3u);
  EXPECT_EQ(m->at("rss"), 11739136u);
  EXPECT_EQ(m->at("total_inactive_file"), 16384u);
}

TEST(KeyedValues, BadLineNamesFileAndLine) {
  auto m = parse_keyed_values("usage_usec 5\nuser_usec x\n", "/cg/cpu.stat");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("/cg/cpu.stat"), std::string::npos) << m.error().message();
  EXPECT_NE(m.error().message().find("line 2"), std::string::npos) << m.error().message();
}

TEST(SingleValue, TrimsNewlineAndRejectsJunk) {
  auto v = parse_single_value("123456\n", "memory.current");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 123456u);
  EXPECT_FALSE(parse_single_value("", "x"));
  EXPECT_FALSE(parse_single_value("-1", "x"));
  EXPECT_FALSE(parse_single_value("12 34", "x"));
}

TEST(Limit, MaxAndV1UnlimitedAreUnset) {
  auto max = parse_limit("max\n", "memory.max");
  ASSERT_TRUE(max);
  EXPECT_FALSE(max->has_value());
  auto v1 = parse_limit("9223372036854771712\n", "memory.limit_in_bytes");
  ASSERT_TRUE(v1);
  EXPECT_FALSE(v1->has_value());
  auto set = parse_limit("67108864\n", "memory.max");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->value_or(0), 67108864u);
}

TEST(CgroupPath, CgroupfsPathsAreNormalized) {
  EXPECT_EQ(cgroup_fs_path("/crid/crid-abc"), "/crid/crid-abc");
  EXPECT_EQ(cgroup_fs_path("kubepods/pod1/"), "/kubepods/pod1");
}

TEST(CgroupPath, SystemdFormExpandsSlices) {
  EXPECT_EQ(systemd_slice_path("system.slice"), "/system.slice");
  EXPECT_EQ(systemd_slice_path("kubepods-burstable-pod1.slice"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice");
  EXPECT_EQ(systemd_slice_path("-.slice"), "");
  EXPECT_EQ(cgroup_fs_path("kubepods-pod1.slice:crid:abc"),
            "/kubepods.slice/kubepods-pod1.slice/crid-abc.scope");
}

}  // namespace
}  // namespace crid::stats
