#include "server/container_translate.h"

#include <gtest/gtest.h>

namespace crid::server {
namespace {

namespace v1 = ::runtime::v1;

v1::CreateContainerRequest minimal_request() {
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id("pod1");
  req.mutable_config()->mutable_metadata()->set_name("web");
  req.mutable_config()->mutable_image()->set_image("busybox");
  return req;
}

v1::LinuxContainerSecurityContext* security(v1::CreateContainerRequest& req) {
  return req.mutable_config()->mutable_linux()->mutable_security_context();
}

TEST(ContainerTranslate, RunAsGroupAloneIsRefusedNamingTheContainer) {
  auto req = minimal_request();
  security(req)->mutable_run_as_group()->set_value(1000);
  auto r = to_create_request(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("web"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("run_as_group"), std::string::npos) << r.error().message();
}

TEST(ContainerTranslate, RunAsGroupWithAUserOrUsernameIsAccepted) {
  auto with_uid = minimal_request();
  security(with_uid)->mutable_run_as_group()->set_value(1000);
  security(with_uid)->mutable_run_as_user()->set_value(0);  // 0 is set, not unset
  auto a = to_create_request(with_uid);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->request.security.run_as_user, 0);
  EXPECT_EQ(a->request.security.run_as_group, 1000);

  auto with_name = minimal_request();
  security(with_name)->mutable_run_as_group()->set_value(1000);
  security(with_name)->set_run_as_username("nobody");
  auto b = to_create_request(with_name);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->request.security.run_as_username, "nobody");
}

TEST(ContainerTranslate, LocalhostSeccompKeepsTheKubeletsAbsolutePath) {
  auto req = minimal_request();
  security(req)->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  security(req)->mutable_seccomp()->set_localhost_ref("/var/lib/kubelet/seccomp/x.json");
  auto r = to_create_request(req);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->request.security.seccomp);
  EXPECT_EQ(r->request.security.seccomp->type, oci::SecurityProfile::Type::kLocalhost);
  EXPECT_EQ(r->request.security.seccomp->localhost_ref, "/var/lib/kubelet/seccomp/x.json");

  auto empty_ref = minimal_request();
  security(empty_ref)->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  EXPECT_FALSE(to_create_request(empty_ref));
}

// Kubelets before 1.30 match a listed container's image_ref against
// ListImages ids to find images in use; ContainerStatus keeps the digest.
TEST(ContainerTranslate, ListedImageRefIsTheImageIdStatusKeepsTheRepoDigest) {
  container::ContainerRecord rec;
  rec.id = "c1";
  rec.pod_id = "pod1";
  rec.image_name = "docker.io/library/busybox:latest";
  rec.image_id = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
  rec.image_ref =
      "docker.io/library/busybox@sha256:2222222222222222222222222222222222222222222222222222222222222222";

  v1::Container listed;
  to_cri(rec, &listed);
  EXPECT_EQ(listed.image_ref(), rec.image_id);
  EXPECT_EQ(listed.image_id(), rec.image_id);
  EXPECT_EQ(listed.image().image(), rec.image_name);

  v1::ContainerStatus status;
  to_cri(rec, &status);
  EXPECT_EQ(status.image_ref(), rec.image_ref);
  EXPECT_EQ(status.image_id(), rec.image_id);
}

}  // namespace
}  // namespace crid::server
