#include <gtest/gtest.h>

#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using testing::basic_inputs;
using testing::build_or_die;
using V = std::vector<std::string>;

// The table from the Kubernetes docs ("Define a Command and Arguments for a
// Container"): image Entrypoint [/ep-1], Cmd [foo bar].
struct MergeCase {
  V command, args, expected;
};

class CommandMergeTest : public ::testing::TestWithParam<MergeCase> {};

TEST_P(CommandMergeTest, FollowsKubernetesRules) {
  const auto& c = GetParam();
  auto r = merge_command(c.command, c.args, {"/ep-1"}, {"foo", "bar"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    KubernetesDocsTable, CommandMergeTest,
    ::testing::Values(MergeCase{{}, {}, {"/ep-1", "foo", "bar"}},
                      MergeCase{{"/ep-2"}, {}, {"/ep-2"}},
                      MergeCase{{}, {"zoo", "boo"}, {"/ep-1", "zoo", "boo"}},
                      MergeCase{{"/ep-2"}, {"zoo", "boo"}, {"/ep-2", "zoo", "boo"}}));

TEST(CommandMerge, ArgsAloneWithoutEntrypointRunTheArgs) {
  auto r = merge_command({}, {"/bin/echo", "hi"}, {}, {"/bin/sh"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (V{"/bin/echo", "hi"}));
}

TEST(CommandMerge, ImageCmdAloneIsTheCommand) {
  auto r = merge_command({}, {}, {}, {"/bin/sh", "-c", "true"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (V{"/bin/sh", "-c", "true"}));
}

TEST(CommandMerge, NothingAnywhereIsInvalidArgument) {
  auto r = merge_command({}, {}, {}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("no command specified"), std::string::npos);
}

TEST(SpecProcess, BuildFailsWithoutCommandAndNamesTheContainer) {
  auto in = basic_inputs();
  in.request.command.clear();
  in.request.args.clear();
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("web"), std::string::npos);
  EXPECT_NE(r.error().message().find("no command specified"), std::string::npos);
}

TEST(SpecProcess, ArgsAndBasics) {
  auto in = basic_inputs();
  in.request.tty = true;
  auto spec = build_or_die(in);
  EXPECT_EQ(spec["ociVersion"].get<std::string>().substr(0, 2), "1.");
  EXPECT_EQ(testing::strings(spec["process"]["args"]), (V{"/bin/sh", "-c", "sleep 1"}));
  EXPECT_TRUE(spec["process"]["terminal"].get<bool>());
  EXPECT_EQ(spec["root"]["path"], in.context.rootfs_path);
  EXPECT_FALSE(spec["root"]["readonly"].get<bool>());
  EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rprivate");
}

TEST(SpecProcess, WorkingDirPrecedence) {
  auto in = basic_inputs();
  EXPECT_EQ(build_or_die(in)["process"]["cwd"], "/");
  in.image.working_dir = "/srv";
  EXPECT_EQ(build_or_die(in)["process"]["cwd"], "/srv");
  in.request.working_dir = "/data";
  EXPECT_EQ(build_or_die(in)["process"]["cwd"], "/data");
  in.request.working_dir.clear();
  in.image.working_dir = "app";  // a relative image WORKDIR starts at /
  EXPECT_EQ(build_or_die(in)["process"]["cwd"], "/app");
  in.request.working_dir = "relative";
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(SpecProcess, NofileRlimitDefaultAndConfigured) {
  auto in = basic_inputs();
  auto spec = build_or_die(in);
  ASSERT_EQ(spec["process"]["rlimits"].size(), 1u);
  EXPECT_EQ(spec["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(spec["process"]["rlimits"][0]["soft"], 1048576);
  EXPECT_EQ(spec["process"]["rlimits"][0]["hard"], 1048576);
  in.context.rlimit_nofile = 4096;
  spec = build_or_die(in);
  EXPECT_EQ(spec["process"]["rlimits"][0]["soft"], 4096);
}

TEST(SpecProcess, NoNewPrivileges) {
  auto in = basic_inputs();
  EXPECT_FALSE(build_or_die(in)["process"]["noNewPrivileges"].get<bool>());
  in.request.security.no_new_privs = true;
  EXPECT_TRUE(build_or_die(in)["process"]["noNewPrivileges"].get<bool>());
}

TEST(SpecProcess, OomScoreAdjPassesThroughUnrestricted) {
  auto in = basic_inputs();
  in.request.resources.oom_score_adj = -998;
  EXPECT_EQ(build_or_die(in)["process"]["oomScoreAdj"], -998);
}

TEST(SpecProcess, OomScoreAdjClampedToDaemonsOwnWhenRestricted) {
  auto in = basic_inputs();
  in.context.restrict_oom_score_adj = true;
  in.context.daemon_oom_score_adj = -500;
  in.request.resources.oom_score_adj = -998;
  EXPECT_EQ(build_or_die(in)["process"]["oomScoreAdj"], -500);
  in.request.resources.oom_score_adj = 100;  // higher is always allowed
  EXPECT_EQ(build_or_die(in)["process"]["oomScoreAdj"], 100);
}

TEST(SpecProcess, OomScoreAdjOutOfRangeIsRejected) {
  auto in = basic_inputs();
  in.request.resources.oom_score_adj = 1001;
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace crid::oci

namespace crid::oci {
namespace {

TEST(SpecProcess, SameInputsGiveTheSameSpec) {
  auto in = testing::basic_inputs();
  in.request.security.seccomp = SecurityProfile{SecurityProfile::Type::kRuntimeDefault, ""};
  in.request.mounts = {{.container_path = "/b", .host_path = "/srv/b"},
                       {.container_path = "/a", .host_path = "/srv/a"}};
  EXPECT_EQ(testing::build_or_die(in).dump(), testing::build_or_die(in).dump());
}

}  // namespace
}  // namespace crid::oci
