#include "sandbox/pause.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace crid::sandbox {
namespace {

TEST(InfraFile, RoundTripsAndUnreadableMeansNone) {
  char tmpl[] = "/tmp/crid-pause-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/infra.pid";
  EXPECT_TRUE(read_infra_file(path).empty());
  ASSERT_TRUE(write_infra_file(path, {1234, 5678}).ok());
  InfraProcess p = read_infra_file(path);
  EXPECT_EQ(p.pid, 1234);
  EXPECT_EQ(p.start_time, 5678u);
  std::filesystem::remove_all(tmpl);
}

// Pid reuse: a live process that is not a pause, or a pause-less record,
// never counts as the pod's pause, so nobody kills a stranger.
TEST(PauseAlive, OnlyThatVeryPauseCounts) {
  EXPECT_FALSE(pause_alive({}));
  EXPECT_FALSE(pause_alive({::getpid(), 0}));
  EXPECT_TRUE(kill_pause({::getpid(), 0}, "test").ok());  // not ours: left alone
  EXPECT_FALSE(pause_alive({999999999, 1}));
}

}  // namespace
}  // namespace crid::sandbox
