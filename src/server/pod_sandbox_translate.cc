#include "server/pod_sandbox_translate.h"

namespace crid::server {

namespace v1 = ::runtime::v1;

namespace {

sandbox::NamespaceMode to_mode(v1::NamespaceMode m) {
  switch (m) {
    case v1::POD: return sandbox::NamespaceMode::kPod;
    case v1::CONTAINER: return sandbox::NamespaceMode::kContainer;
    case v1::NODE: return sandbox::NamespaceMode::kNode;
    case v1::TARGET: return sandbox::NamespaceMode::kTarget;
    default: return sandbox::NamespaceMode::kPod;
  }
}

v1::NamespaceMode from_mode(sandbox::NamespaceMode m) {
  return static_cast<v1::NamespaceMode>(static_cast<int>(m));
}

std::string profile(const v1::SecurityProfile& p, const std::string& deprecated_path) {
  switch (p.profile_type()) {
    case v1::SecurityProfile::Unconfined: return "unconfined";
    case v1::SecurityProfile::Localhost: return "localhost/" + p.localhost_ref();
    default: break;
  }
  return deprecated_path;
}

}  // namespace

Result<sandbox::PodConfig> to_pod_config(const v1::PodSandboxConfig& in) {
  sandbox::PodConfig c;
  c.metadata = {in.metadata().name(), in.metadata().uid(), in.metadata().namespace_(),
                in.metadata().attempt()};
  c.hostname = in.hostname();
  c.log_directory = in.log_directory();
  const auto& dns = in.dns_config();
  c.dns.servers.assign(dns.servers().begin(), dns.servers().end());
  c.dns.searches.assign(dns.searches().begin(), dns.searches().end());
  c.dns.options.assign(dns.options().begin(), dns.options().end());
  for (auto& pm : in.port_mappings()) {
    network::PortMapping m;
    switch (pm.protocol()) {
      case v1::TCP: m.protocol = "tcp"; break;
      case v1::UDP: m.protocol = "udp"; break;
      case v1::SCTP: m.protocol = "sctp"; break;
      default:
        return make_error(ErrorKind::kInvalidArgument, "pod {}: unknown port protocol {}",
                          c.metadata.name, static_cast<int>(pm.protocol()));
    }
    m.container_port = pm.container_port();
    m.host_port = pm.host_port();
    m.host_ip = pm.host_ip();
    c.port_mappings.push_back(m);
  }
  c.labels.insert(in.labels().begin(), in.labels().end());
  c.annotations.insert(in.annotations().begin(), in.annotations().end());

  const auto& lx = in.linux();
  c.cgroup_parent = lx.cgroup_parent();
  c.sysctls.insert(lx.sysctls().begin(), lx.sysctls().end());
  const auto& sc = lx.security_context();
  const auto& ns = sc.namespace_options();
  c.namespaces.network = to_mode(ns.network());
  c.namespaces.pid = to_mode(ns.pid());
  c.namespaces.ipc = to_mode(ns.ipc());
  c.namespaces.target_id = ns.target_id();
  c.privileged = sc.privileged();
  c.readonly_rootfs = sc.readonly_rootfs();
  if (sc.has_run_as_user()) c.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) c.run_as_group = sc.run_as_group().value();
  c.supplemental_groups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
  if (sc.has_seccomp())
    c.seccomp_profile = profile(sc.seccomp(), "");
  else
    c.seccomp_profile = sc.seccomp_profile_path();
  if (sc.has_apparmor()) c.apparmor_profile = profile(sc.apparmor(), "");
  return c;
}

sandbox::PodFilter to_pod_filter(const v1::PodSandboxFilter& in) {
  sandbox::PodFilter f;
  f.id_prefix = in.id();
  if (in.has_state()) {
    f.has_state = true;
    f.state = in.state().state() == v1::SANDBOX_READY ? sandbox::PodState::kReady
                                                      : sandbox::PodState::kNotReady;
  }
  f.labels.insert(in.label_selector().begin(), in.label_selector().end());
  return f;
}

void to_cri(const sandbox::PodMetadata& in, v1::PodSandboxMetadata* out) {
  out->set_name(in.name);
  out->set_uid(in.uid);
  out->set_namespace_(in.namespace_);
  out->set_attempt(in.attempt);
}

static v1::PodSandboxState state_of(const sandbox::Pod& p) {
  return p.state == sandbox::PodState::kReady ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
}

void to_cri(const sandbox::Pod& in, v1::PodSandboxStatus* out) {
  out->set_id(in.id);
  to_cri(in.config.metadata, out->mutable_metadata());
  out->set_state(state_of(in));
  out->set_created_at(in.created_at_ns);
  // Always present, empty without addresses (host network, stopped pod):
  // clients read status.network.ip without checking the message is there.
  auto* net = out->mutable_network();
  if (!in.ips.empty()) {
    net->set_ip(in.ips.front());
    for (size_t i = 1; i < in.ips.size(); i++) net->add_additional_ips()->set_ip(in.ips[i]);
  }
  auto* ns = out->mutable_linux()->mutable_namespaces()->mutable_options();
  ns->set_network(from_mode(in.config.namespaces.network));
  ns->set_pid(from_mode(in.config.namespaces.pid));
  ns->set_ipc(from_mode(in.config.namespaces.ipc));
  ns->set_target_id(in.config.namespaces.target_id);
  out->mutable_labels()->insert(in.config.labels.begin(), in.config.labels.end());
  out->mutable_annotations()->insert(in.config.annotations.begin(), in.config.annotations.end());
  out->set_runtime_handler(in.runtime_handler);
}

void to_cri(const sandbox::Pod& in, v1::PodSandbox* out) {
  out->set_id(in.id);
  to_cri(in.config.metadata, out->mutable_metadata());
  out->set_state(state_of(in));
  out->set_created_at(in.created_at_ns);
  out->mutable_labels()->insert(in.config.labels.begin(), in.config.labels.end());
  out->mutable_annotations()->insert(in.config.annotations.begin(), in.config.annotations.end());
  out->set_runtime_handler(in.runtime_handler);
}

}  // namespace crid::server
