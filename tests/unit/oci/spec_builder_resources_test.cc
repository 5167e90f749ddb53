#include <gtest/gtest.h>

#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using testing::basic_inputs;
using testing::build_or_die;

TEST(SpecResources, NothingRequestedLeavesOnlyDeviceRules) {
  auto spec = build_or_die(basic_inputs());
  const auto& res = spec["linux"]["resources"];
  EXPECT_FALSE(res.contains("cpu"));
  EXPECT_FALSE(res.contains("memory"));
  EXPECT_FALSE(res.contains("pids"));
  EXPECT_TRUE(res.contains("devices"));
}

TEST(SpecResources, CpuAndCpuset) {
  auto in = basic_inputs();
  in.request.resources.cpu_shares = 512;
  in.request.resources.cpu_quota = 50000;
  in.request.resources.cpu_period = 100000;
  in.request.resources.cpuset_cpus = "0-1";
  in.request.resources.cpuset_mems = "0";
  auto cpu = build_or_die(in)["linux"]["resources"]["cpu"];
  EXPECT_EQ(cpu["shares"], 512);
  EXPECT_EQ(cpu["quota"], 50000);
  EXPECT_EQ(cpu["period"], 100000);
  EXPECT_EQ(cpu["cpus"], "0-1");
  EXPECT_EQ(cpu["mems"], "0");
}

TEST(SpecResources, MemoryLimitAloneMeansNoSwap) {
  auto in = basic_inputs();
  in.request.resources.memory_limit_in_bytes = 64 << 20;
  auto mem = build_or_die(in)["linux"]["resources"]["memory"];
  EXPECT_EQ(mem["limit"], 64 << 20);
  EXPECT_EQ(mem["swap"], 64 << 20);  // memory+swap == memory: no swap
}

TEST(SpecResources, ExplicitSwapLimitWins) {
  auto in = basic_inputs();
  in.request.resources.memory_limit_in_bytes = 64 << 20;
  in.request.resources.memory_swap_limit_in_bytes = 128 << 20;
  auto mem = build_or_die(in)["linux"]["resources"]["memory"];
  EXPECT_EQ(mem["swap"], 128 << 20);
  in.request.resources.memory_swap_limit_in_bytes = -1;  // unlimited swap
  mem = build_or_die(in)["linux"]["resources"]["memory"];
  EXPECT_EQ(mem["swap"], -1);
}

TEST(SpecResources, SwapBelowMemoryIsRejected) {
  auto in = basic_inputs();
  in.request.resources.memory_limit_in_bytes = 64 << 20;
  in.request.resources.memory_swap_limit_in_bytes = 32 << 20;
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  in.request.resources.memory_swap_limit_in_bytes = 0;
  in.request.resources.memory_limit_in_bytes = -5;
  EXPECT_FALSE(build_spec(in));
}

TEST(SpecResources, HugepagesPidsAndUnified) {
  auto in = basic_inputs();
  in.request.resources.hugepage_limits = {{"2MB", 4 << 20}, {"1GB", 0}};
  in.request.resources.unified = {{"memory.high", "1000000"}, {"io.weight", "200"}};
  in.context.pids_limit = 1024;
  auto res = build_or_die(in)["linux"]["resources"];
  ASSERT_EQ(res["hugepageLimits"].size(), 2u);
  EXPECT_EQ(res["hugepageLimits"][0]["pageSize"], "2MB");
  EXPECT_EQ(res["hugepageLimits"][0]["limit"], 4 << 20);
  EXPECT_EQ(res["pids"]["limit"], 1024);
  EXPECT_EQ(res["unified"]["memory.high"], "1000000");
  EXPECT_EQ(res["unified"]["io.weight"], "200");
}

TEST(SpecResources, CgroupfsPath) {
  auto in = basic_inputs();
  EXPECT_EQ(build_or_die(in)["linux"]["cgroupsPath"], "/kubepods/besteffort/pod-uid-1/crid-ctr1");
  in.sandbox.cgroup_parent = "kubepods/";
  EXPECT_EQ(build_or_die(in)["linux"]["cgroupsPath"], "/kubepods/crid-ctr1");
  in.sandbox.cgroup_parent.clear();
  EXPECT_EQ(build_or_die(in)["linux"]["cgroupsPath"], "/crid-ctr1");
}

TEST(SpecResources, SystemdPath) {
  auto in = basic_inputs();
  in.context.cgroup_driver = CgroupDriver::kSystemd;
  in.sandbox.cgroup_parent = "kubepods-besteffort-poduid1.slice";
  EXPECT_EQ(build_or_die(in)["linux"]["cgroupsPath"],
            "kubepods-besteffort-poduid1.slice:crid:ctr1");
  in.sandbox.cgroup_parent.clear();
  EXPECT_EQ(build_or_die(in)["linux"]["cgroupsPath"], "system.slice:crid:ctr1");
  in.sandbox.cgroup_parent = "/kubepods/besteffort";
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/kubepods/besteffort"), std::string::npos);
}

TEST(SpecResources, PodSysctls) {
  auto in = basic_inputs();
  in.sandbox.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  EXPECT_EQ(build_or_die(in)["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"], "0");
}

TEST(SpecDevices, DefaultRulesDenyThenAllowStandardNodes) {
  auto rules = build_or_die(basic_inputs())["linux"]["resources"]["devices"];
  ASSERT_GE(rules.size(), 10u);
  EXPECT_FALSE(rules[0]["allow"].get<bool>());
  EXPECT_EQ(rules[0]["access"], "rwm");
  auto allowed = [&](const char* type, int maj, int min) {
    for (const auto& r : rules)
      if (r["allow"] == true && r.value("type", "") == type && r.value("major", -1) == maj &&
          r.value("minor", -1) == min && r["access"] == "rwm")
        return true;
    return false;
  };
  EXPECT_TRUE(allowed("c", 1, 3));  // null
  EXPECT_TRUE(allowed("c", 1, 5));  // zero
  EXPECT_TRUE(allowed("c", 1, 9));  // urandom
  EXPECT_TRUE(allowed("c", 5, 2));  // ptmx
  EXPECT_FALSE(allowed("b", 8, 0));
}

TEST(SpecDevices, RequestDevicesAreAddedWithTheirPermissions) {
  auto in = basic_inputs();
  in.request.devices = {{"/dev/fuse", "/dev/fuse", "rw"}, {"/dev/xvda", "/dev/sdb", "r"}};
  in.request_devices = {{"/dev/fuse", 'c', 10, 229, 0666, 0, 0}, {"/dev/sdb", 'b', 8, 16, 0660, 0, 6}};
  auto spec = build_or_die(in);
  const auto& devices = spec["linux"]["devices"];
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[1]["path"], "/dev/xvda");  // container path, host numbers
  EXPECT_EQ(devices[1]["type"], "b");
  EXPECT_EQ(devices[1]["major"], 8);
  EXPECT_EQ(devices[1]["minor"], 16);
  EXPECT_EQ(devices[1]["fileMode"], 0660);
  const auto& rules = spec["linux"]["resources"]["devices"];
  const auto& last = rules[rules.size() - 1];
  EXPECT_TRUE(last["allow"].get<bool>());
  EXPECT_EQ(last["type"], "b");
  EXPECT_EQ(last["major"], 8);
  EXPECT_EQ(last["access"], "r");
}

TEST(SpecDevices, BadPermissionsAndUnresolvedDevices) {
  auto in = basic_inputs();
  in.request.devices = {{"/dev/fuse", "/dev/fuse", "rwx"}};
  in.request_devices = {{"/dev/fuse", 'c', 10, 229, 0666, 0, 0}};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("/dev/fuse"), std::string::npos);
  in.request.devices[0].permissions = "rw";
  in.request_devices.clear();  // caller forgot to resolve
  EXPECT_FALSE(build_spec(in));
}

}  // namespace
}  // namespace crid::oci
