#include <gtest/gtest.h>

#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using testing::basic_inputs;
using testing::build_or_die;
using testing::find_mount;
using testing::has_option;

SpecInputs privileged_inputs() {
  auto in = basic_inputs();
  in.request.security.privileged = true;
  in.sandbox.privileged = true;
  in.request.security.seccomp = SecurityProfile{SecurityProfile::Type::kRuntimeDefault, ""};
  in.host_devices = {{"/dev/null", 'c', 1, 3, 0666, 0, 0},
                     {"/dev/sda", 'b', 8, 0, 0660, 0, 6},
                     {"/dev/fuse", 'c', 10, 229, 0666, 0, 0}};
  return in;
}

TEST(SpecPrivileged, GetsTheDaemonsWholeBoundingSet) {
  auto in = privileged_inputs();
  auto spec = build_or_die(in);
  auto bounding = testing::strings(spec["process"]["capabilities"]["bounding"]);
  auto expected = in.context.bounding_set;
  std::sort(expected.begin(), expected.end());
  std::sort(bounding.begin(), bounding.end());
  EXPECT_EQ(bounding, expected);
  EXPECT_EQ(spec["process"]["capabilities"]["effective"].size(), expected.size());
  // A different daemon bounding set changes the result: not a fixed list.
  in.context.bounding_set = {"CAP_CHOWN", "CAP_SYS_ADMIN"};
  spec = build_or_die(in);
  EXPECT_EQ(testing::strings(spec["process"]["capabilities"]["permitted"]),
            (std::vector<std::string>{"CAP_CHOWN", "CAP_SYS_ADMIN"}));
}

TEST(SpecPrivileged, AllHostDevicesAndAllAccess) {
  auto spec = build_or_die(privileged_inputs());
  ASSERT_EQ(spec["linux"]["devices"].size(), 3u);
  EXPECT_EQ(spec["linux"]["devices"][1]["path"], "/dev/sda");
  EXPECT_EQ(spec["linux"]["devices"][1]["type"], "b");
  EXPECT_EQ(spec["linux"]["devices"][1]["gid"], 6);
  const auto& rules = spec["linux"]["resources"]["devices"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(rules[0]["allow"].get<bool>());
  EXPECT_EQ(rules[0]["access"], "rwm");
  EXPECT_FALSE(rules[0].contains("type"));
}

TEST(SpecPrivileged, NoMaskedOrReadonlyPathsEvenWhenRequested) {
  auto in = privileged_inputs();
  in.request.security.masked_paths = std::vector<std::string>{"/proc/kcore"};
  in.request.security.readonly_paths = std::vector<std::string>{"/proc/sys"};
  auto spec = build_or_die(in);
  EXPECT_FALSE(spec["linux"].contains("maskedPaths"));
  EXPECT_FALSE(spec["linux"].contains("readonlyPaths"));
}

TEST(SpecPrivileged, NoSeccompAndWritableSysAndCgroup) {
  auto spec = build_or_die(privileged_inputs());
  EXPECT_FALSE(spec["linux"].contains("seccomp"));
  EXPECT_FALSE(has_option(*find_mount(spec, "/sys"), "ro"));
  EXPECT_TRUE(has_option(*find_mount(spec, "/sys"), "rw"));
  EXPECT_FALSE(has_option(*find_mount(spec, "/sys/fs/cgroup"), "ro"));
}

TEST(SpecPrivileged, RequestedDeviceIsNotDuplicated) {
  auto in = privileged_inputs();
  in.request.devices = {{"/dev/null", "/dev/null", "rwm"}, {"/dev/mydisk", "/dev/sda", "r"}};
  in.request_devices = {{"/dev/null", 'c', 1, 3, 0666, 0, 0}, {"/dev/sda", 'b', 8, 0, 0660, 0, 6}};
  auto spec = build_or_die(in);
  EXPECT_EQ(spec["linux"]["devices"].size(), 4u);  // 3 host + /dev/mydisk
}

TEST(SpecPrivileged, RefusedInAnUnprivilegedPod) {
  auto in = privileged_inputs();
  in.sandbox.privileged = false;
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("web-pod"), std::string::npos);
}

TEST(SpecPrivileged, UnprivilegedContrast) {
  auto in = privileged_inputs();
  in.request.security.privileged = false;
  auto spec = build_or_die(in);
  EXPECT_FALSE(spec["linux"].contains("devices"));
  EXPECT_TRUE(spec["linux"].contains("maskedPaths"));
  EXPECT_TRUE(spec["linux"].contains("seccomp"));
  EXPECT_TRUE(has_option(*find_mount(spec, "/sys"), "ro"));
}

TEST(SpecPrivileged, MaskedAndReadonlyDefaultsAndOverrides) {
  auto in = basic_inputs();
  auto spec = build_or_die(in);
  auto masked = testing::strings(spec["linux"]["maskedPaths"]);
  auto ro = testing::strings(spec["linux"]["readonlyPaths"]);
  for (const char* p : {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                        "/proc/timer_list", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                        "/sys/devices/virtual/powercap"})
    EXPECT_NE(std::find(masked.begin(), masked.end(), p), masked.end()) << p;
  for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})
    EXPECT_NE(std::find(ro.begin(), ro.end(), p), ro.end()) << p;

  in.request.security.masked_paths = std::vector<std::string>{"/proc/secret"};
  in.request.security.readonly_paths = std::vector<std::string>{};  // explicitly none
  spec = build_or_die(in);
  EXPECT_EQ(testing::strings(spec["linux"]["maskedPaths"]),
            (std::vector<std::string>{"/proc/secret"}));
  EXPECT_FALSE(spec["linux"].contains("readonlyPaths"));
}

}  // namespace
}  // namespace crid::oci
