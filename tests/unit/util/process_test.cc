#include "util/process.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace crid {
namespace {

TEST(RunProcess, CapturesOutputAndStatus) {
  auto r = run_process({.argv = {"/bin/sh", "-c", "cat; echo err >&2; exit 3"},
                        .stdin_data = "piped input"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out, "piped input");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->describe(), "exited with status 3: err");
}

TEST(RunProcess, TimeoutKills) {
  auto r = run_process({.argv = {"/bin/sleep", "30"}, .timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
}

TEST(RunProcess, MissingBinaryIsAnError) {
  auto r = run_process({.argv = {"/nonexistent/binary"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("/nonexistent/binary"), std::string::npos);
}

TEST(RunProcess, OutputIsCapped) {
  auto r = run_process({.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero"}, .max_output = 1000});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_TRUE(r->truncated);
}

TEST(RunProcess, EnvironmentIsExplicitWhenGiven) {
  auto r = run_process({.argv = {"/bin/sh", "-c", "echo $FOO"}, .env = std::vector<std::string>{"FOO=bar"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "bar\n");
}

}  // namespace
}  // namespace crid

namespace crid {
namespace {

TEST(RunProcess, OnTimeoutLetsTheChildFinishByItself) {
  // The child traps TERM and exits 5; on_timeout sends TERM instead of the
  // default SIGKILL, so the exit status is the child's own.
  bool called = false;
  SpawnOptions opts{.argv = {"/bin/sh", "-c", "trap 'exit 5' TERM; while :; do sleep 0.05; done"},
                    .timeout = std::chrono::milliseconds(300)};
  opts.on_timeout = [&](pid_t pid) {
    called = true;
    ::kill(pid, SIGTERM);
  };
  auto r = run_process(opts);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(called);
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->exit_code, 5);
}

TEST(RunProcess, OnTimeoutFallsBackToSigkillAfterTheGrace) {
  SpawnOptions opts{.argv = {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"},
                    .timeout = std::chrono::milliseconds(200)};
  opts.on_timeout = [](pid_t pid) { ::kill(pid, SIGTERM); };
  opts.stop_grace = std::chrono::milliseconds(200);
  auto r = run_process(opts);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
}

// argv[0] is only the shown name when `program` says what to run, and
// pass_fds arrive as 3, 4, ... in their order, whatever their numbers were.
TEST(RunProcess, ProgramAndHandedFdsAreWhatTheChildGets) {
  auto fd_with = [](const char* text) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    EXPECT_EQ(::write(p[1], text, std::strlen(text)), static_cast<ssize_t>(std::strlen(text)));
    ::close(p[1]);
    return p[0];
  };
  int one = fd_with("one"), two = fd_with("two");
  auto r = run_process({.argv = {"shown-name", "-c",
                                 "tr '\\000' ' ' < /proc/$$/cmdline; cat <&3; cat <&4"},
                        .program = "/bin/sh",
                        .pass_fds = {two, one}});
  ::close(one);
  ::close(two);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->success()) << r->describe();
  EXPECT_TRUE(r->out.starts_with("shown-name -c ")) << r->out;
  EXPECT_TRUE(r->out.ends_with("twoone")) << r->out;

  auto bad = run_process({.argv = {"true"}, .program = "/bin/true", .pass_fds = {987654}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("987654"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace crid
