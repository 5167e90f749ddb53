// The cgroup reader on fake v1 and v2 trees written into a temp dir.
#include "stats/cgroup_reader.h"

#include <gtest/gtest.h>

#include "temp_tree.h"

namespace crid::stats {
namespace {

using testing::TempTree;

const char* kRel = "/crid/crid-abc";

void write_v1(const TempTree& t, const std::string& limit = "9223372036854771712\n") {
  std::string c = kRel;
  t.write("cpuacct" + c + "/cpuacct.usage", "2500000000\n");
  t.write("memory" + c + "/memory.usage_in_bytes", "104857600\n");
  t.write("memory" + c + "/memory.limit_in_bytes", limit);
  // Own and total_ (hierarchical) entries differ: the reader takes total_.
  t.write("memory" + c + "/memory.stat",
          "cache 1\nrss 2\ninactive_file 3\npgfault 4\npgmajfault 5\n"
          "total_cache 41943040\ntotal_rss 52428800\ntotal_inactive_file 31457280\n"
          "total_pgfault 1234\ntotal_pgmajfault 7\n");
  t.write("pids" + c + "/pids.current", "3\n");
}

void write_v2(const TempTree& t, const std::string& max = "max\n") {
  std::string c = std::string(kRel).substr(1);
  t.write(c + "/cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n");
  t.write(c + "/memory.current", "20971520\n");
  t.write(c + "/memory.max", max);
  t.write(c + "/memory.stat",
          "anon 8388608\nfile 12582912\ninactive_file 4194304\nactive_file 8388608\n"
          "pgfault 99\npgmajfault 2\n");
  t.write(c + "/pids.current", "5\n");
}

TEST(CgroupReaderV1, ReadsCountersAndDerivesWorkingSet) {
  TempTree t;
  write_v1(t);
  CgroupReader r(CgroupVersion::kV1, t.path());
  auto s = r.read(kRel);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_GT(s->timestamp_ns, 0);
  EXPECT_EQ(s->cpu_usage_ns, 2500000000u);
  EXPECT_EQ(s->memory_usage, 104857600u);
  EXPECT_EQ(s->inactive_file, 31457280u);
  EXPECT_EQ(s->rss, 52428800u);
  EXPECT_EQ(s->page_faults, 1234u);
  EXPECT_EQ(s->major_page_faults, 7u);
  EXPECT_EQ(s->working_set(), 104857600u - 31457280u);
  EXPECT_FALSE(s->memory_limit.has_value());
  EXPECT_FALSE(s->available().has_value());
  EXPECT_EQ(s->processes.value_or(0), 3u);
}

TEST(CgroupReaderV1, LimitGivesAvailable) {
  TempTree t;
  write_v1(t, "134217728\n");
  auto s = CgroupReader(CgroupVersion::kV1, t.path()).read(kRel);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->memory_limit.value_or(0), 134217728u);
  EXPECT_EQ(s->available().value_or(0), 134217728u - (104857600u - 31457280u));
}

TEST(CgroupReaderV2, ReadsCountersAndDerivesWorkingSet) {
  TempTree t;
  write_v2(t, "67108864\n");
  CgroupReader r(CgroupVersion::kV2, t.path());
  auto s = r.read(kRel);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->cpu_usage_ns, 1500000000u);
  EXPECT_EQ(s->memory_usage, 20971520u);
  EXPECT_EQ(s->rss, 8388608u);
  EXPECT_EQ(s->page_faults, 99u);
  EXPECT_EQ(s->major_page_faults, 2u);
  EXPECT_EQ(s->working_set(), 20971520u - 4194304u);
  EXPECT_EQ(s->available().value_or(0), 67108864u - (20971520u - 4194304u));
  EXPECT_EQ(s->processes.value_or(0), 5u);
}

TEST(CgroupReaderV2, WorkingSetFloorsAtZero) {
  CgroupSample s;
  s.memory_usage = 100;
  s.inactive_file = 300;
  s.memory_limit = 50;
  EXPECT_EQ(s.working_set(), 0u);
  EXPECT_EQ(s.available().value_or(1), 50u);
  s.memory_usage = 400;
  EXPECT_EQ(s.available().value_or(1), 0u) << "over the limit: nothing available";
}

TEST(CgroupReaderV2, NoPidsControllerLeavesProcessesUnset) {
  TempTree t;
  write_v2(t);
  std::filesystem::remove(t.file("crid/crid-abc/pids.current"));
  auto s = CgroupReader(CgroupVersion::kV2, t.path()).read(kRel);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_FALSE(s->processes.has_value());
}

TEST(CgroupReaderV2, MissingFileIsAnErrorNamingIt) {
  TempTree t;
  write_v2(t);
  std::filesystem::remove(t.file("crid/crid-abc/memory.current"));
  auto s = CgroupReader(CgroupVersion::kV2, t.path()).read(kRel);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("crid-abc/memory.current"), std::string::npos)
      << s.error().message();
}

TEST(CgroupReaderV2, MissingStatKeyIsAnErrorNamingIt) {
  TempTree t;
  write_v2(t);
  t.write("crid/crid-abc/memory.stat", "anon 1\npgfault 2\npgmajfault 3\n");
  auto s = CgroupReader(CgroupVersion::kV2, t.path()).read(kRel);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("inactive_file"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("memory.stat"), std::string::npos) << s.error().message();
}

TEST(CgroupReaderV1, MissingFileIsAnErrorNamingIt) {
  TempTree t;
  write_v1(t);
  std::filesystem::remove(t.file("cpuacct/crid/crid-abc/cpuacct.usage"));
  auto s = CgroupReader(CgroupVersion::kV1, t.path()).read(kRel);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("cpuacct.usage"), std::string::npos) << s.error().message();
}

TEST(CgroupReader, MissingCgroupIsNotFound) {
  TempTree t;
  write_v2(t);
  CgroupReader r(CgroupVersion::kV2, t.path());
  EXPECT_TRUE(r.exists(kRel));
  EXPECT_FALSE(r.exists("/crid/crid-gone"));
  auto s = r.read("/crid/crid-gone");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(s.error().message().find("/crid/crid-gone"), std::string::npos);
}

TEST(CgroupReader, PathsCannotLeaveTheRoot) {
  TempTree t;
  write_v2(t);
  auto s = CgroupReader(CgroupVersion::kV2, t.path() + "/crid").read("/../crid/crid-abc");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("escapes"), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace crid::stats
