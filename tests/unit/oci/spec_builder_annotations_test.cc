#include <gtest/gtest.h>

#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using testing::basic_inputs;
using testing::build_or_die;

TEST(SpecAnnotations, CriKeysDescribeContainerAndPod) {
  auto spec = build_or_die(basic_inputs());
  const auto& a = spec["annotations"];
  EXPECT_EQ(a["io.kubernetes.cri.container-type"], "container");
  EXPECT_EQ(a["io.kubernetes.cri.container-name"], "web");
  EXPECT_EQ(a["io.kubernetes.cri.sandbox-id"], "pod0123");
  EXPECT_EQ(a["io.kubernetes.cri.sandbox-name"], "web-pod");
  EXPECT_EQ(a["io.kubernetes.cri.sandbox-namespace"], "default");
  EXPECT_EQ(a["io.kubernetes.cri.sandbox-uid"], "uid-1");
  EXPECT_EQ(a["io.kubernetes.cri.image-name"], "docker.io/library/busybox:latest");
}

TEST(SpecAnnotations, RequestAnnotationsKeptButCannotSpoofCriKeys) {
  auto in = basic_inputs();
  in.request.annotations = {{"example.com/owner", "team-a"},
                            {"io.kubernetes.cri.sandbox-id", "someone-else"}};
  auto spec = build_or_die(in);
  EXPECT_EQ(spec["annotations"]["example.com/owner"], "team-a");
  EXPECT_EQ(spec["annotations"]["io.kubernetes.cri.sandbox-id"], "pod0123");
}

TEST(SpecLsm, AppArmorUnavailableIsAFailedPrecondition) {
  auto in = basic_inputs();
  in.request.security.apparmor = SecurityProfile{SecurityProfile::Type::kRuntimeDefault, ""};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("AppArmor is not available"), std::string::npos);
  in.request.security.apparmor = SecurityProfile{SecurityProfile::Type::kLocalhost, "my-prof"};
  EXPECT_FALSE(build_spec(in));
}

TEST(SpecLsm, AppArmorUnconfinedOrUnsetIsFine) {
  auto in = basic_inputs();
  EXPECT_FALSE(build_or_die(in)["process"].contains("apparmorProfile"));
  in.request.security.apparmor = SecurityProfile{SecurityProfile::Type::kUnconfined, ""};
  EXPECT_FALSE(build_or_die(in)["process"].contains("apparmorProfile"));
}

TEST(SpecLsm, AppArmorProfilesWhenAvailable) {
  auto in = basic_inputs();
  in.context.apparmor_available = true;
  in.request.security.apparmor = SecurityProfile{SecurityProfile::Type::kRuntimeDefault, ""};
  EXPECT_EQ(build_or_die(in)["process"]["apparmorProfile"], "crid-default");
  in.request.security.apparmor =
      SecurityProfile{SecurityProfile::Type::kLocalhost, "localhost/k8s-nginx"};
  EXPECT_EQ(build_or_die(in)["process"]["apparmorProfile"], "k8s-nginx");
}

TEST(SpecLsm, SelinuxUnavailableIsAFailedPrecondition) {
  auto in = basic_inputs();
  in.request.security.selinux = {"", "", "spc_t", ""};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("SELinux"), std::string::npos);
}

TEST(SpecLsm, SelinuxLabelWhenAvailable) {
  auto in = basic_inputs();
  in.context.selinux_available = true;
  in.request.security.selinux = {"", "", "spc_t", "s0:c1,c2"};
  auto spec = build_or_die(in);
  EXPECT_EQ(spec["process"]["selinuxLabel"], "system_u:system_r:spc_t:s0:c1,c2");
  EXPECT_EQ(spec["linux"]["mountLabel"], "system_u:object_r:container_file_t:s0:c1,c2");
}

}  // namespace
}  // namespace crid::oci
