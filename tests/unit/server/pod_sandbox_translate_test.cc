#include "server/pod_sandbox_translate.h"

#include <gtest/gtest.h>

namespace crid::server {
namespace {

namespace v1 = ::runtime::v1;

TEST(PodSandboxTranslate, ConfigCarriesEverythingTheLifecycleUses) {
  v1::PodSandboxConfig in;
  in.mutable_metadata()->set_name("web");
  in.mutable_metadata()->set_uid("u1");
  in.mutable_metadata()->set_namespace_("prod");
  in.mutable_metadata()->set_attempt(2);
  in.set_hostname("web-0");
  in.set_log_directory("/var/log/pods/x");
  in.mutable_dns_config()->add_servers("10.96.0.10");
  in.mutable_dns_config()->add_searches("svc");
  in.mutable_dns_config()->add_options("ndots:5");
  auto* pm = in.add_port_mappings();
  pm->set_protocol(v1::UDP);
  pm->set_container_port(53);
  pm->set_host_port(5353);
  pm->set_host_ip("127.0.0.1");
  (*in.mutable_labels())["app"] = "web";
  (*in.mutable_annotations())["a"] = "b";
  auto* lx = in.mutable_linux();
  lx->set_cgroup_parent("/kubepods/pod-u1");
  (*lx->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  auto* sc = lx->mutable_security_context();
  sc->mutable_namespace_options()->set_network(v1::NODE);
  sc->mutable_namespace_options()->set_pid(v1::POD);
  sc->mutable_namespace_options()->set_ipc(v1::NODE);
  sc->mutable_run_as_user()->set_value(0);
  sc->set_privileged(true);
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  sc->mutable_seccomp()->set_localhost_ref("profiles/audit.json");

  auto c = to_pod_config(in);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->metadata.name, "web");
  EXPECT_EQ(c->metadata.namespace_, "prod");
  EXPECT_EQ(c->metadata.attempt, 2u);
  EXPECT_EQ(c->hostname, "web-0");
  EXPECT_EQ(c->dns.servers, std::vector<std::string>{"10.96.0.10"});
  ASSERT_EQ(c->port_mappings.size(), 1u);
  EXPECT_EQ(c->port_mappings[0], (network::PortMapping{"udp", 53, 5353, "127.0.0.1"}));
  EXPECT_EQ(c->labels.at("app"), "web");
  EXPECT_EQ(c->cgroup_parent, "/kubepods/pod-u1");
  EXPECT_EQ(c->sysctls.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(c->namespaces.network, sandbox::NamespaceMode::kNode);
  EXPECT_EQ(c->namespaces.pid, sandbox::NamespaceMode::kPod);
  EXPECT_EQ(c->namespaces.ipc, sandbox::NamespaceMode::kNode);
  EXPECT_EQ(c->run_as_user, 0);  // set to 0, not unset
  EXPECT_EQ(c->run_as_group, -1);
  EXPECT_TRUE(c->privileged);
  EXPECT_EQ(c->seccomp_profile, "localhost/profiles/audit.json");
}

TEST(PodSandboxTranslate, UnknownProtocolIsInvalid) {
  v1::PodSandboxConfig in;
  in.mutable_metadata()->set_name("x");
  in.add_port_mappings()->set_protocol(static_cast<v1::Protocol>(42));
  auto c = to_pod_config(in);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind(), ErrorKind::kInvalidArgument);
}

TEST(PodSandboxTranslate, StatusPutsTheFirstIpFirstAndTheRestAsAdditional) {
  sandbox::Pod p;
  p.id = "abc";
  p.config.metadata = {"web", "u1", "prod", 1};
  p.config.labels = {{"app", "web"}};
  p.config.namespaces.pid = sandbox::NamespaceMode::kPod;
  p.state = sandbox::PodState::kNotReady;
  p.created_at_ns = 42;
  p.runtime_handler = "crun";
  p.ips = {"10.0.0.5", "fd00::5"};
  v1::PodSandboxStatus st;
  to_cri(p, &st);
  EXPECT_EQ(st.id(), "abc");
  EXPECT_EQ(st.metadata().namespace_(), "prod");
  EXPECT_EQ(st.state(), v1::SANDBOX_NOTREADY);
  EXPECT_EQ(st.created_at(), 42);
  EXPECT_EQ(st.network().ip(), "10.0.0.5");
  ASSERT_EQ(st.network().additional_ips_size(), 1);
  EXPECT_EQ(st.network().additional_ips(0).ip(), "fd00::5");
  EXPECT_EQ(st.linux().namespaces().options().pid(), v1::POD);
  EXPECT_EQ(st.runtime_handler(), "crun");
  EXPECT_EQ(st.labels().at("app"), "web");
}

TEST(PodSandboxTranslate, PodWithoutAddressesHasAnEmptyNetworkStatus) {
  sandbox::Pod p;
  p.id = "abc";
  p.state = sandbox::PodState::kNotReady;
  v1::PodSandboxStatus st;
  to_cri(p, &st);
  EXPECT_TRUE(st.has_network());
  EXPECT_EQ(st.network().ip(), "");
  EXPECT_EQ(st.network().additional_ips_size(), 0);
}

TEST(PodSandboxTranslate, FilterOfStateAndLabels) {
  v1::PodSandboxFilter f;
  f.set_id("ab");
  f.mutable_state()->set_state(v1::SANDBOX_READY);
  (*f.mutable_label_selector())["app"] = "web";
  auto out = to_pod_filter(f);
  EXPECT_EQ(out.id_prefix, "ab");
  EXPECT_TRUE(out.has_state);
  EXPECT_EQ(out.state, sandbox::PodState::kReady);
  EXPECT_EQ(out.labels.at("app"), "web");
  EXPECT_FALSE(to_pod_filter({}).has_state);
}

}  // namespace
}  // namespace crid::server
