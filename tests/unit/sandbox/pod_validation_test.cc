#include "sandbox/pod_validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace crid::sandbox {
namespace {

PodConfig pod(const std::string& log_dir = "/var/log/pods/ns_web_u1") {
  PodConfig c;
  c.metadata.name = "web";
  c.metadata.namespace_ = "ns";
  c.metadata.uid = "u1";
  c.log_directory = log_dir;
  return c;
}

TEST(PodValidation, AcceptsAPlainPodAndResolvesTheDefaultHandler) {
  Config cfg = default_config();
  auto plan = plan_pod_run(cfg, pod(), "");
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_EQ(plan->handler, cfg.default_handler);
  EXPECT_EQ(plan->cgroup_parent, cfg.default_cgroup_parent);
}

// Hostile requests: crid creates the log directory, so it must be a plain
// absolute path.
TEST(PodValidation, LogDirectoryMustBeAbsoluteWithoutDotDot) {
  Config cfg = default_config();
  for (const std::string& bad :
       std::vector<std::string>{"relative/logs", "/var/log/pods/../../../etc", "/var/log/..", "..",
                                std::string("/var/log/pods/x\0y", 17)}) {
    auto plan = plan_pod_run(cfg, pod(bad), "");
    ASSERT_FALSE(plan) << bad;
    EXPECT_EQ(plan.error().kind(), ErrorKind::kInvalidArgument) << bad;
    EXPECT_NE(plan.error().message().find("web"), std::string::npos) << plan.error().message();
  }
  EXPECT_TRUE(plan_pod_run(cfg, pod(""), ""));  // no logs asked for
  EXPECT_TRUE(plan_pod_run(cfg, pod("/var/log/pods/a..b"), ""));  // ".." only as a component
}

TEST(PodValidation, RefusesUnknownHandlersAndEscapingCgroupParents) {
  Config cfg = default_config();
  auto handler = plan_pod_run(cfg, pod(), "nope");
  ASSERT_FALSE(handler);
  EXPECT_NE(handler.error().message().find("nope"), std::string::npos);
  auto c = pod();
  c.cgroup_parent = "/kubepods/../../system";
  auto parent = plan_pod_run(cfg, c, "");
  ASSERT_FALSE(parent);
  EXPECT_EQ(parent.error().kind(), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace crid::sandbox
