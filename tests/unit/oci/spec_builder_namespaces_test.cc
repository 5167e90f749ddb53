#include <gtest/gtest.h>

#include <map>

#include "spec_test_inputs.h"

namespace crid::oci {
namespace {

using testing::basic_inputs;
using testing::build_or_die;

// type -> path ("" for a new namespace); absent types are shared with the host.
std::map<std::string, std::string> namespaces(const nlohmann::json& spec) {
  std::map<std::string, std::string> out;
  for (const auto& ns : spec["linux"]["namespaces"])
    out[ns["type"]] = ns.contains("path") ? ns["path"].get<std::string>() : "";
  return out;
}

TEST(SpecNamespaces, PodNamespacesAreJoined) {
  auto spec = build_or_die(basic_inputs());
  auto ns = namespaces(spec);
  EXPECT_EQ(ns.at("network"), "/run/crid/pods/pod0123/ns/net");
  EXPECT_EQ(ns.at("ipc"), "/run/crid/pods/pod0123/ns/ipc");
  EXPECT_EQ(ns.at("uts"), "/run/crid/pods/pod0123/ns/uts");
  EXPECT_EQ(ns.at("mount"), "");
  EXPECT_EQ(ns.at("pid"), "");  // default CONTAINER: a new one
  EXPECT_EQ(ns.count("cgroup"), 0u);
  EXPECT_EQ(spec["hostname"], "web-pod");
}

TEST(SpecNamespaces, HostNetworkLeavesNetworkAndUtsAndHostname) {
  auto in = basic_inputs();
  in.sandbox.host_network = true;
  in.sandbox.network_ns_path.clear();
  in.sandbox.uts_ns_path.clear();
  auto spec = build_or_die(in);
  auto ns = namespaces(spec);
  EXPECT_EQ(ns.count("network"), 0u);
  EXPECT_EQ(ns.count("uts"), 0u);
  EXPECT_FALSE(spec.contains("hostname"));
  // HOSTNAME env still tells the process its pod's name.
  auto env = testing::strings(spec["process"]["env"]);
  EXPECT_NE(std::find(env.begin(), env.end(), "HOSTNAME=web-pod"), env.end());
}

TEST(SpecNamespaces, NodeModesShareTheHost) {
  auto in = basic_inputs();
  in.request.security.namespace_options = {NamespaceMode::kNode, NamespaceMode::kNode,
                                           NamespaceMode::kNode, ""};
  auto ns = namespaces(build_or_die(in));
  EXPECT_EQ(ns.count("network"), 0u);
  EXPECT_EQ(ns.count("pid"), 0u);
  EXPECT_EQ(ns.count("ipc"), 0u);
  EXPECT_EQ(ns.count("uts"), 0u);
  EXPECT_EQ(ns.count("mount"), 1u);
}

TEST(SpecNamespaces, HostIpcPod) {
  auto in = basic_inputs();
  in.sandbox.host_ipc = true;
  EXPECT_EQ(namespaces(build_or_die(in)).count("ipc"), 0u);
}

TEST(SpecNamespaces, ContainerModesCreateNewOnes) {
  auto in = basic_inputs();
  in.request.security.namespace_options = {NamespaceMode::kContainer, NamespaceMode::kContainer,
                                           NamespaceMode::kContainer, ""};
  auto ns = namespaces(build_or_die(in));
  EXPECT_EQ(ns.at("network"), "");
  EXPECT_EQ(ns.at("ipc"), "");
  EXPECT_EQ(ns.at("pid"), "");
  EXPECT_EQ(ns.at("uts"), "");
}

TEST(SpecNamespaces, PodWithoutPinsGetsFreshNamespaces) {
  auto in = basic_inputs();
  in.sandbox.network_ns_path.clear();
  in.sandbox.ipc_ns_path.clear();
  in.sandbox.uts_ns_path.clear();
  auto ns = namespaces(build_or_die(in));
  EXPECT_EQ(ns.at("network"), "");
  EXPECT_EQ(ns.at("ipc"), "");
  EXPECT_EQ(ns.at("uts"), "");
}

TEST(SpecNamespaces, PidPodJoinsTheInfraNamespace) {
  auto in = basic_inputs();
  in.request.security.namespace_options.pid = NamespaceMode::kPod;
  in.sandbox.infra_pid_ns_path = "/proc/4242/ns/pid";
  EXPECT_EQ(namespaces(build_or_die(in)).at("pid"), "/proc/4242/ns/pid");
}

TEST(SpecNamespaces, PidTargetJoinsTheTargetOrFails) {
  auto in = basic_inputs();
  in.request.security.namespace_options.pid = NamespaceMode::kTarget;
  in.request.security.namespace_options.target_id = "other";
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("other"), std::string::npos);
  in.target_pid_ns_path = "/proc/777/ns/pid";
  EXPECT_EQ(namespaces(build_or_die(in)).at("pid"), "/proc/777/ns/pid");
}

TEST(SpecNamespaces, TargetIsOnlyForPid) {
  auto in = basic_inputs();
  in.request.security.namespace_options.network = NamespaceMode::kTarget;
  EXPECT_FALSE(build_spec(in));
}

TEST(SpecNamespaces, CgroupNamespaceOnUnifiedHostsUnlessPrivileged) {
  auto in = basic_inputs();
  in.context.unified_cgroups = true;
  EXPECT_EQ(namespaces(build_or_die(in)).count("cgroup"), 1u);
  in.request.security.privileged = true;
  in.sandbox.privileged = true;
  EXPECT_EQ(namespaces(build_or_die(in)).count("cgroup"), 0u);
}

}  // namespace
}  // namespace crid::oci
