// `crid exec-reaper` (runtime/exec_reaper.h) with a shell standing in for
// a detached `runc exec`: the "runtime" starts the process in the
// background, writes its pid and exits at once, so the process is
// orphaned onto the reaper, which must exit with that process's status.
// No root needed.
#include <gtest/gtest.h>

#include "support/crid_process.h"

namespace crid::testing {
namespace {

class ExecReaperTest : public ::testing::Test {
 protected:
  // Runs the reaper in dir_ around `sh -c script`; the pid file is "pid".
  CommandResult reap(const std::string& script) {
    return run_command({crid_binary(), "exec-reaper", dir_.path(), dir_.file("pid"), "/bin/sh",
                        "-c", script});
  }
  TempDir dir_{"crid-reaper"};
};

TEST_F(ExecReaperTest, ExitsWithTheDetachedProcesssCode) {
  // Relative "pid": the runtime runs in the given directory.
  auto r = reap("(sleep 0.3; exit 7) & echo $! > pid");
  EXPECT_EQ(r.status, 7) << r.output;
  r = reap("(sleep 0.3; exit 0) & echo $! > pid");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(ExecReaperTest, AProcessThatEndedBeforeTheRuntimeIsStillCollected) {
  // The process is a zombie of the runtime when the runtime exits: the
  // runtime execs sleep (which, like runc, does not reap) before the
  // process ends (a shell still running would reap it itself).
  auto r = reap("(sleep 0.2; exit 5) & echo $! > pid; exec sleep 1");
  EXPECT_EQ(r.status, 5) << r.output;
}

TEST_F(ExecReaperTest, AKilledProcessGives128PlusTheSignal) {
  auto r = reap("sh -c 'sleep 0.3; kill -TERM $$' & echo $! > pid");
  EXPECT_EQ(r.status, 128 + 15) << r.output;
}

TEST_F(ExecReaperTest, ARuntimeFailureIsPassedOn) {
  auto r = reap("echo runtime-says-no >&2; exit 3");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.output.find("runtime-says-no"), std::string::npos) << r.output;
}

TEST_F(ExecReaperTest, NoPidFileIsAnErrorNamingIt) {
  auto r = reap("exit 0");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.output.find(dir_.file("pid")), std::string::npos) << r.output;
}

TEST_F(ExecReaperTest, BadUsageAndMissingDirectoryAreRefused) {
  auto r = run_command({crid_binary(), "exec-reaper", dir_.path()});
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.output.find("usage"), std::string::npos) << r.output;
  r = run_command({crid_binary(), "exec-reaper", dir_.file("missing"), "pid", "/bin/true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.output.find(dir_.file("missing")), std::string::npos) << r.output;
}

}  // namespace
}  // namespace crid::testing
