#include <gtest/gtest.h>

#include "sandbox/namespaces.h"

namespace crid::sandbox {
namespace {

TEST(SysctlPlan, SplitsNamespacedSysctlsByNamespace) {
  auto plan = plan_sysctls({{"net.ipv4.ip_forward", "1"},
                            {"net/ipv4/conf/all/rp_filter", "0"},
                            {"kernel.shmmax", "1000"},
                            {"kernel.sem", "250 32000 32 128"},
                            {"fs.mqueue.msg_max", "20"}},
                           NamespaceOptions{});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->net.size(), 2u);
  EXPECT_EQ(plan->ipc.size(), 3u);
  EXPECT_EQ(plan->ipc.at("kernel.sem"), "250 32000 32 128");
}

TEST(SysctlPlan, RefusesNodeWideAndMalformedSysctlsNamingThem) {
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"kernel.panic", "1"},
           {"vm.overcommit_memory", "1"},
           {"kernel.hostname", "x"},
           {"kernel.shm", "1"},
           {"net..ipv4", "1"},
           {".net.ipv4", "1"},
           {"net.ipv4.", "1"},
           {"net.ipv4.ip_forward\nkernel.panic", "1"},
           {"net.ipv4.ip_forward", ""},
           {"net.ipv4.ip_forward", "1\nkernel.panic=1"},
       }) {
    auto plan = plan_sysctls({{name, value}}, NamespaceOptions{});
    ASSERT_FALSE(plan.ok()) << name << "=" << value;
    EXPECT_EQ(plan.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(plan.error().message().find(name), std::string::npos) << plan.error().message();
  }
}

TEST(SysctlPlan, RefusesSysctlsOfHostNamespaces) {
  NamespaceOptions host_net;
  host_net.network = NamespaceMode::kNode;
  auto plan = plan_sysctls({{"net.core.somaxconn", "1024"}}, host_net);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("host network"), std::string::npos);
  EXPECT_TRUE(plan_sysctls({{"kernel.msgmax", "10"}}, host_net).ok());

  NamespaceOptions host_ipc;
  host_ipc.ipc = NamespaceMode::kNode;
  plan = plan_sysctls({{"kernel.msgmax", "10"}}, host_ipc);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("host IPC"), std::string::npos);
}

}  // namespace
}  // namespace crid::sandbox
