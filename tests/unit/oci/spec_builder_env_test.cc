#include <gtest/gtest.h>

#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using V = std::vector<std::string>;

TEST(SpecEnv, ImageThenHostnameThenRequestInFirstSeenOrder) {
  auto env = merge_env({"PATH=/img/bin", "A=1", "B=2"}, "pod-a", {{"B", "20"}, {"C", "3"}}, false);
  EXPECT_EQ(env, (V{"PATH=/img/bin", "A=1", "B=20", "HOSTNAME=pod-a", "C=3"}));
}

TEST(SpecEnv, RequestOverridesImageAndHostname) {
  auto env = merge_env({"PATH=/img/bin", "HOSTNAME=img"}, "pod-a",
                       {{"PATH", "/mine"}, {"HOSTNAME", "custom"}}, false);
  EXPECT_EQ(env, (V{"PATH=/mine", "HOSTNAME=custom"}));
}

TEST(SpecEnv, LaterRequestValueWinsForSameKey) {
  auto env = merge_env({}, "", {{"X", "1"}, {"Y", "2"}, {"X", "3"}}, false);
  EXPECT_EQ(env, (V{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "X=3",
                    "Y=2"}));
}

TEST(SpecEnv, DefaultPathWhenNobodySetsIt) {
  auto env = merge_env({"A=1"}, "h", {}, false);
  ASSERT_FALSE(env.empty());
  EXPECT_EQ(env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST(SpecEnv, ValuesMayContainEqualsSigns) {
  auto env = merge_env({"OPTS=a=b=c"}, "", {{"Q", "x=y"}}, false);
  EXPECT_EQ(env[1], "OPTS=a=b=c");  // after the default PATH
  EXPECT_EQ(env.back(), "Q=x=y");
}

TEST(SpecEnv, TermOnlyWithTty) {
  auto no_tty = merge_env({}, "", {}, false);
  EXPECT_EQ(std::count(no_tty.begin(), no_tty.end(), "TERM=xterm"), 0);
  auto tty = merge_env({}, "", {}, true);
  EXPECT_EQ(std::count(tty.begin(), tty.end(), "TERM=xterm"), 1);
  auto own = merge_env({}, "", {{"TERM", "vt100"}}, true);
  EXPECT_EQ(std::count(own.begin(), own.end(), "TERM=xterm"), 0);
}

TEST(SpecEnv, BuiltSpecCarriesMergedEnv) {
  auto in = testing::basic_inputs();
  in.image.env = {"PATH=/usr/bin:/bin", "LANG=C"};
  in.request.envs = {{"LANG", "C.UTF-8"}, {"APP", "1"}};
  auto spec = testing::build_or_die(in);
  EXPECT_EQ(testing::strings(spec["process"]["env"]),
            (V{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOSTNAME=web-pod", "APP=1"}));
}

}  // namespace
}  // namespace crid::oci
