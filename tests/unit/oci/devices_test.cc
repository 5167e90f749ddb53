#include "oci/devices.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/fs.h"

namespace crid::oci {
namespace {

TEST(Devices, ResolvesDevNull) {
  auto d = resolve_device("/dev/null", "/dev/mynull");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->path, "/dev/mynull");
  EXPECT_EQ(d->type, 'c');
  EXPECT_EQ(d->major, 1);
  EXPECT_EQ(d->minor, 3);
  EXPECT_EQ(d->file_mode, 0666u);
}

TEST(Devices, ContainerPathDefaultsToHostPath) {
  auto d = resolve_device("/dev/zero", "");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->path, "/dev/zero");
  EXPECT_EQ(d->minor, 5);
}

TEST(Devices, FollowsSymlinksToDevices) {
  char tmpl[] = "/tmp/crid-dev-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string link = std::string(tmpl) + "/null-link";
  ASSERT_EQ(symlink("/dev/null", link.c_str()), 0);
  auto d = resolve_device(link, "/dev/n");
  EXPECT_TRUE(d);
  if (d) EXPECT_EQ(d->minor, 3);
  (void)fs::remove_all(tmpl);
}

TEST(Devices, NonDeviceAndMissingAreErrorsNamingThePath) {
  auto dir = resolve_device("/tmp", "/dev/x");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(dir.error().message().find("/tmp"), std::string::npos);
  auto missing = resolve_device("/dev/crid-no-such-device", "/dev/x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message().find("/dev/crid-no-such-device"), std::string::npos);
}

TEST(Devices, ResolveRequestDevicesKeepsOrder) {
  auto r = resolve_request_devices({{"/dev/b", "/dev/zero", "r"}, {"/dev/a", "/dev/null", "rw"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].path, "/dev/b");
  EXPECT_EQ((*r)[0].minor, 5);
  EXPECT_EQ((*r)[1].minor, 3);
  EXPECT_FALSE(resolve_request_devices({{"/dev/x", "/etc/hostname", "r"}}));
}

TEST(Devices, ListHostDevicesFindsNullAndSkipsPts) {
  auto r = list_host_devices("/dev");
  ASSERT_TRUE(r) << r.error().message();
  bool null_found = false;
  for (const auto& d : *r) {
    if (d.path == "/dev/null") null_found = d.type == 'c' && d.major == 1 && d.minor == 3;
    EXPECT_NE(d.path.rfind("/dev/pts/", 0), 0u) << d.path;
    EXPECT_NE(d.path, "/dev/console");
  }
  EXPECT_TRUE(null_found);
}

TEST(Devices, ListHostDevicesInATreeWithoutDevices) {
  char tmpl[] = "/tmp/crid-devtree-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ASSERT_TRUE(fs::make_dirs(std::string(tmpl) + "/sub"));
  ASSERT_EQ(symlink("/dev/null", (std::string(tmpl) + "/sub/null").c_str()), 0);
  auto r = list_host_devices(tmpl);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());  // the symlink is not followed
  (void)fs::remove_all(tmpl);
  EXPECT_FALSE(list_host_devices("/nonexistent/crid-dev"));
}

}  // namespace
}  // namespace crid::oci
