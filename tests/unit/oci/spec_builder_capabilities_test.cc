#include <gtest/gtest.h>
#include <sys/prctl.h>

#include "oci/capabilities.h"
#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using V = std::vector<std::string>;
using testing::basic_inputs;
using testing::build_or_die;

bool contains(const V& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(Capabilities, NormalizeAcceptsAllSpellings) {
  EXPECT_EQ(*normalize_capability("chown"), "CAP_CHOWN");
  EXPECT_EQ(*normalize_capability("NET_ADMIN"), "CAP_NET_ADMIN");
  EXPECT_EQ(*normalize_capability("CAP_SYS_ADMIN"), "CAP_SYS_ADMIN");
  EXPECT_EQ(*normalize_capability("cap_bpf"), "CAP_BPF");
  auto bad = normalize_capability("CAP_FLY");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("CAP_FLY"), std::string::npos);
}

TEST(Capabilities, NamesAreInKernelNumberOrder) {
  const auto& names = all_capability_names();
  ASSERT_GE(names.size(), 41u);
  EXPECT_EQ(names[0], "CAP_CHOWN");
  EXPECT_EQ(names[21], "CAP_SYS_ADMIN");
  EXPECT_EQ(names[40], "CAP_CHECKPOINT_RESTORE");
}

TEST(Capabilities, DefaultSetIsCrioDefault) {
  EXPECT_EQ(default_capabilities(),
            (V{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
               "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE"}));
}

TEST(Capabilities, BoundingSetMatchesPrctl) {
  auto caps = read_bounding_set();
  ASSERT_FALSE(caps.empty());
  const auto& names = all_capability_names();
  for (size_t i = 0; i < names.size(); ++i) {
    int r = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
    EXPECT_EQ(r == 1, contains(caps, names[i])) << names[i];
  }
}

TEST(Capabilities, AddAndDrop) {
  V all = all_capability_names();
  auto r = apply_capability_changes(default_capabilities(), all, {"NET_ADMIN", "cap_sys_time"},
                                    {"CHOWN", "KILL"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(contains(*r, "CAP_NET_ADMIN"));
  EXPECT_TRUE(contains(*r, "CAP_SYS_TIME"));
  EXPECT_FALSE(contains(*r, "CAP_CHOWN"));
  EXPECT_FALSE(contains(*r, "CAP_KILL"));
  EXPECT_TRUE(contains(*r, "CAP_SETUID"));
}

TEST(Capabilities, AddAllThenDropOne) {
  V all = {"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"};
  auto r = apply_capability_changes(default_capabilities(), all, {"ALL"}, {"SYS_ADMIN"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (V{"CAP_CHOWN", "CAP_KILL"}));
}

TEST(Capabilities, DropAllThenAddOne) {
  auto r = apply_capability_changes(default_capabilities(), all_capability_names(),
                                    {"NET_BIND_SERVICE"}, {"all"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (V{"CAP_NET_BIND_SERVICE"}));
}

TEST(Capabilities, DropWinsOverAddOfTheSameCapability) {
  auto r = apply_capability_changes({}, all_capability_names(), {"NET_RAW"}, {"NET_RAW"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(Capabilities, UnknownInAddOrDropIsInvalidArgument) {
  EXPECT_FALSE(apply_capability_changes({}, all_capability_names(), {"CAP_NOPE"}, {}));
  auto r = apply_capability_changes({}, all_capability_names(), {}, {"NOPE"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(SpecCapabilities, DefaultContainer) {
  auto spec = build_or_die(basic_inputs());
  const auto& c = spec["process"]["capabilities"];
  EXPECT_EQ(testing::strings(c["bounding"]), default_capabilities());
  EXPECT_EQ(testing::strings(c["effective"]), default_capabilities());
  EXPECT_EQ(testing::strings(c["permitted"]), default_capabilities());
  EXPECT_FALSE(c.contains("ambient"));
}

TEST(SpecCapabilities, AddAllUsesTheBoundingSet) {
  auto in = basic_inputs();
  in.request.security.add_capabilities = {"ALL"};
  in.request.security.drop_capabilities = {"NET_RAW"};
  auto spec = build_or_die(in);
  auto eff = testing::strings(spec["process"]["capabilities"]["effective"]);
  EXPECT_EQ(eff.size(), in.context.bounding_set.size() - 1);
  EXPECT_FALSE(contains(eff, "CAP_NET_RAW"));
  EXPECT_FALSE(contains(eff, "CAP_SYS_MODULE"));  // not in the daemon's set
}

TEST(SpecCapabilities, AmbientAreAlsoPermittedAndInheritable) {
  auto in = basic_inputs();
  in.request.security.add_ambient_capabilities = {"NET_RAW"};
  auto spec = build_or_die(in);
  const auto& c = spec["process"]["capabilities"];
  EXPECT_EQ(testing::strings(c["ambient"]), (V{"CAP_NET_RAW"}));
  EXPECT_EQ(testing::strings(c["inheritable"]), (V{"CAP_NET_RAW"}));
  EXPECT_TRUE(contains(testing::strings(c["permitted"]), "CAP_NET_RAW"));
}

TEST(SpecCapabilities, UnknownCapabilityFailsTheBuild) {
  auto in = basic_inputs();
  in.request.security.add_capabilities = {"CAP_TELEPORT"};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("CAP_TELEPORT"), std::string::npos);
}

}  // namespace
}  // namespace crid::oci
