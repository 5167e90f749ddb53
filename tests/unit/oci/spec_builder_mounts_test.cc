#include <gtest/gtest.h>

#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using testing::basic_inputs;
using testing::build_or_die;
using testing::count_mounts;
using testing::find_mount;
using testing::has_option;

TEST(SpecMounts, DefaultSystemMounts) {
  auto spec = build_or_die(basic_inputs());
  const auto* proc = find_mount(spec, "/proc");
  ASSERT_NE(proc, nullptr);
  EXPECT_EQ((*proc)["type"], "proc");
  const auto* dev = find_mount(spec, "/dev");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ((*dev)["type"], "tmpfs");
  EXPECT_TRUE(has_option(*dev, "mode=755"));
  EXPECT_TRUE(has_option(*dev, "size=65536k"));
  ASSERT_NE(find_mount(spec, "/dev/pts"), nullptr);
  EXPECT_EQ((*find_mount(spec, "/dev/pts"))["type"], "devpts");
  ASSERT_NE(find_mount(spec, "/dev/mqueue"), nullptr);
  EXPECT_EQ((*find_mount(spec, "/dev/mqueue"))["type"], "mqueue");
  const auto* sys = find_mount(spec, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ((*sys)["type"], "sysfs");
  EXPECT_TRUE(has_option(*sys, "ro"));
  const auto* cg = find_mount(spec, "/sys/fs/cgroup");
  ASSERT_NE(cg, nullptr);
  EXPECT_EQ((*cg)["type"], "cgroup");
  EXPECT_TRUE(has_option(*cg, "ro"));
}

TEST(SpecMounts, PodShmIsBoundWhenThePodHasOne) {
  auto spec = build_or_die(basic_inputs());
  ASSERT_EQ(count_mounts(spec, "/dev/shm"), 1);
  const auto* shm = find_mount(spec, "/dev/shm");
  EXPECT_EQ((*shm)["type"], "bind");
  EXPECT_EQ((*shm)["source"], "/run/crid/pods/pod0123/shm");
  EXPECT_FALSE(has_option(*shm, "ro"));
}

TEST(SpecMounts, PrivateTmpfsShmWithoutPodShm) {
  auto in = basic_inputs();
  in.sandbox.shm_path.clear();
  auto spec = build_or_die(in);
  ASSERT_EQ(count_mounts(spec, "/dev/shm"), 1);
  const auto* shm = find_mount(spec, "/dev/shm");
  EXPECT_EQ((*shm)["type"], "tmpfs");
  EXPECT_TRUE(has_option(*shm, "mode=1777"));
}

TEST(SpecMounts, HostIpcSharesTheNodesShm) {
  auto in = basic_inputs();
  in.request.security.namespace_options.ipc = NamespaceMode::kNode;
  auto spec = build_or_die(in);
  ASSERT_EQ(count_mounts(spec, "/dev/shm"), 1);
  EXPECT_EQ((*find_mount(spec, "/dev/shm"))["source"], "/dev/shm");
  in = basic_inputs();
  in.sandbox.host_ipc = true;
  EXPECT_EQ((*find_mount(build_or_die(in), "/dev/shm"))["source"], "/dev/shm");
}

TEST(SpecMounts, OwnIpcNamespaceGetsAPrivateShm) {
  auto in = basic_inputs();
  in.request.security.namespace_options.ipc = NamespaceMode::kContainer;
  auto spec = build_or_die(in);
  ASSERT_EQ(count_mounts(spec, "/dev/shm"), 1);
  EXPECT_EQ((*find_mount(spec, "/dev/shm"))["type"], "tmpfs");
}

TEST(SpecMounts, PodFilesAreBoundAndFollowReadonlyRootfs) {
  auto in = basic_inputs();
  auto spec = build_or_die(in);
  for (const char* dest : {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}) {
    const auto* m = find_mount(spec, dest);
    ASSERT_NE(m, nullptr) << dest;
    EXPECT_EQ((*m)["type"], "bind");
    EXPECT_TRUE(has_option(*m, "rbind"));
    EXPECT_FALSE(has_option(*m, "ro")) << dest;
  }
  EXPECT_EQ((*find_mount(spec, "/etc/hosts"))["source"], "/run/crid/pods/pod0123/hosts");
  in.request.security.readonly_rootfs = true;
  spec = build_or_die(in);
  EXPECT_TRUE(has_option(*find_mount(spec, "/etc/resolv.conf"), "ro"));
  EXPECT_TRUE(spec["root"]["readonly"].get<bool>());
}

TEST(SpecMounts, PodFileMissingFromSandboxIsSkipped) {
  auto in = basic_inputs();
  in.sandbox.hostname_path.clear();
  auto spec = build_or_die(in);
  EXPECT_EQ(find_mount(spec, "/etc/hostname"), nullptr);
}

TEST(SpecMounts, CriMountOverridesPodFileAndShm) {
  auto in = basic_inputs();
  in.request.mounts = {{.container_path = "/etc/hosts", .host_path = "/srv/my-hosts"},
                       {.container_path = "/dev/shm/", .host_path = "/srv/shm"}};
  auto spec = build_or_die(in);
  ASSERT_EQ(count_mounts(spec, "/etc/hosts"), 1);
  EXPECT_EQ((*find_mount(spec, "/etc/hosts"))["source"], "/srv/my-hosts");
  ASSERT_EQ(count_mounts(spec, "/dev/shm"), 1);
  EXPECT_EQ((*find_mount(spec, "/dev/shm"))["source"], "/srv/shm");
}

TEST(SpecMounts, CriMountOptionsAndPropagation) {
  auto in = basic_inputs();
  in.request.mounts = {
      {.container_path = "/data", .host_path = "/srv/data"},
      {.container_path = "/cfg", .host_path = "/srv/cfg", .readonly = true},
      {.container_path = "/rro", .host_path = "/srv/rro", .readonly = true,
       .recursive_read_only = true},
      {.container_path = "/slave", .host_path = "/srv/slave",
       .propagation = MountPropagation::kHostToContainer},
  };
  auto spec = build_or_die(in);
  const auto* data = find_mount(spec, "/data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ((*data)["type"], "bind");
  EXPECT_EQ((*data)["source"], "/srv/data");
  EXPECT_TRUE(has_option(*data, "rbind"));
  EXPECT_TRUE(has_option(*data, "rprivate"));
  EXPECT_FALSE(has_option(*data, "ro"));
  EXPECT_TRUE(has_option(*find_mount(spec, "/cfg"), "ro"));
  EXPECT_FALSE(has_option(*find_mount(spec, "/cfg"), "rro"));
  EXPECT_TRUE(has_option(*find_mount(spec, "/rro"), "rro"));
  EXPECT_TRUE(has_option(*find_mount(spec, "/slave"), "rslave"));
  EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rslave");
}

TEST(SpecMounts, BidirectionalMakesRootfsShared) {
  auto in = basic_inputs();
  in.request.mounts = {{.container_path = "/a", .host_path = "/srv/a",
                        .propagation = MountPropagation::kBidirectional},
                       {.container_path = "/b", .host_path = "/srv/b",
                        .propagation = MountPropagation::kHostToContainer}};
  auto spec = build_or_die(in);
  EXPECT_TRUE(has_option(*find_mount(spec, "/a"), "rshared"));
  EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rshared");
}

TEST(SpecMounts, RecursiveReadOnlyNeedsReadonlyAndPrivate) {
  auto in = basic_inputs();
  in.request.mounts = {{.container_path = "/x", .host_path = "/srv/x",
                        .recursive_read_only = true}};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("/x"), std::string::npos);
  in.request.mounts[0].readonly = true;
  in.request.mounts[0].propagation = MountPropagation::kHostToContainer;
  EXPECT_FALSE(build_spec(in));
}

TEST(SpecMounts, RelativeContainerPathRejected) {
  auto in = basic_inputs();
  in.request.mounts = {{.container_path = "data", .host_path = "/srv/data"}};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(SpecMounts, ParentsBeforeChildren) {
  auto in = basic_inputs();
  in.request.mounts = {{.container_path = "/a/b/c", .host_path = "/srv/c"},
                       {.container_path = "/a", .host_path = "/srv/a"},
                       {.container_path = "/etc", .host_path = "/srv/etc"}};
  auto spec = build_or_die(in);
  std::vector<std::string> order;
  for (const auto& m : spec["mounts"]) order.push_back(m["destination"]);
  auto pos = [&](const std::string& d) {
    return std::find(order.begin(), order.end(), d) - order.begin();
  };
  EXPECT_LT(pos("/a"), pos("/a/b/c"));
  EXPECT_LT(pos("/etc"), pos("/etc/hosts"));  // the pod's file stays visible
  EXPECT_LT(pos("/dev"), pos("/dev/pts"));
  EXPECT_LT(pos("/sys"), pos("/sys/fs/cgroup"));
}

TEST(SpecMounts, ImageVolumesAreBoundUnlessACriMountClaimsThePath) {
  auto in = basic_inputs();
  in.image_volumes = {{"/var/lib/db", "/var/lib/crid/volumes/ctr1/db"},
                      {"/cache", "/var/lib/crid/volumes/ctr1/cache"}};
  in.request.mounts = {{.container_path = "/cache", .host_path = "/srv/cache"}};
  auto spec = build_or_die(in);
  const auto* db = find_mount(spec, "/var/lib/db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ((*db)["source"], "/var/lib/crid/volumes/ctr1/db");
  EXPECT_FALSE(has_option(*db, "ro"));
  ASSERT_EQ(count_mounts(spec, "/cache"), 1);
  EXPECT_EQ((*find_mount(spec, "/cache"))["source"], "/srv/cache");
}

TEST(SpecMounts, ImageVolumeNeedsAbsolutePathAndHostDir) {
  auto in = basic_inputs();
  in.image_volumes = {{"relative", "/var/lib/crid/volumes/x"}};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("relative"), std::string::npos);
  in.image_volumes = {{"/data", ""}};
  EXPECT_FALSE(build_spec(in));
}

TEST(SpecMounts, ValidateSourcesNamesTheMissingHostPath) {
  ContainerRequest req;
  req.name = "web";
  req.mounts = {{.container_path = "/ok", .host_path = "/exists"},
                {.container_path = "/data", .host_path = "/gone/data"}};
  auto exists = [](const std::string& p) { return p == "/exists"; };
  auto st = validate_mount_sources(req, exists);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(st.error().message().find("/gone/data"), std::string::npos);
  req.mounts.pop_back();
  EXPECT_TRUE(validate_mount_sources(req, exists));
}

TEST(SpecMounts, ValidateSourcesAgainstTheRealFilesystem) {
  ContainerRequest req;
  req.mounts = {{.container_path = "/tmp", .host_path = "/tmp"}};
  EXPECT_TRUE(validate_mount_sources(req));
  req.mounts.push_back({.container_path = "/x", .host_path = "/nonexistent/crid/x"});
  EXPECT_FALSE(validate_mount_sources(req));
}

}  // namespace
}  // namespace crid::oci
