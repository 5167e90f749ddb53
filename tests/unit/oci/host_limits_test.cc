#include "oci/host_limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace crid::oci {
namespace {

TEST(HostLimits, NofileNeverAboveWhatTheDaemonCanGrant) {
  rlimit current{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &current), 0);
  uint64_t limit = nofile_limit_for_containers(1048576);
  if (daemon_has_sys_resource()) {
    EXPECT_EQ(limit, 1048576u);
  } else {
    EXPECT_LE(limit, current.rlim_max);
    EXPECT_EQ(limit, std::min<uint64_t>(1048576, current.rlim_max));
  }
  // Asking for less than the hard limit is always granted as asked.
  EXPECT_EQ(nofile_limit_for_containers(64), 64u);
}

}  // namespace
}  // namespace crid::oci
