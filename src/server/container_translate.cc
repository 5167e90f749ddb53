#include "server/container_translate.h"

#include "container/signals.h"

namespace crid::server {

namespace v1 = ::runtime::v1;

namespace {

oci::NamespaceMode to_mode(v1::NamespaceMode m) {
  switch (m) {
    case v1::CONTAINER: return oci::NamespaceMode::kContainer;
    case v1::NODE: return oci::NamespaceMode::kNode;
    case v1::TARGET: return oci::NamespaceMode::kTarget;
    default: return oci::NamespaceMode::kPod;
  }
}

// The typed profile, else the deprecated path field ("runtime/default",
// "docker/default", "unconfined", "localhost/<path>"), else nothing.
Result<std::optional<oci::SecurityProfile>> to_profile(bool has_typed, const v1::SecurityProfile& p,
                                                       const std::string& deprecated, const char* what) {
  using T = oci::SecurityProfile::Type;
  if (has_typed) {
    switch (p.profile_type()) {
      case v1::SecurityProfile::RuntimeDefault: return std::optional(oci::SecurityProfile{T::kRuntimeDefault, ""});
      case v1::SecurityProfile::Unconfined: return std::optional(oci::SecurityProfile{T::kUnconfined, ""});
      case v1::SecurityProfile::Localhost:
        if (p.localhost_ref().empty())
          return make_error(ErrorKind::kInvalidArgument, "{} profile Localhost without localhost_ref", what);
        return std::optional(oci::SecurityProfile{T::kLocalhost, p.localhost_ref()});
      default:
        return make_error(ErrorKind::kInvalidArgument, "unknown {} profile type {}", what,
                          static_cast<int>(p.profile_type()));
    }
  }
  if (deprecated.empty()) return std::optional<oci::SecurityProfile>();
  if (deprecated == "runtime/default" || deprecated == "docker/default")
    return std::optional(oci::SecurityProfile{T::kRuntimeDefault, ""});
  if (deprecated == "unconfined") return std::optional(oci::SecurityProfile{T::kUnconfined, ""});
  if (deprecated.rfind("localhost/", 0) == 0)
    return std::optional(oci::SecurityProfile{T::kLocalhost, deprecated.substr(10)});
  return make_error(ErrorKind::kInvalidArgument, "unknown {} profile \"{}\"", what, deprecated);
}

}  // namespace

Result<int> to_signal_number(v1::Signal s) {
  if (s == v1::SIGNAL_RUNTIME_DEFAULT) return 0;
  std::string name = v1::Signal_Name(s);  // "SIGNAL_SIGRTMINPLUS3"
  if (name.rfind("SIGNAL_", 0) != 0)
    return make_error(ErrorKind::kInvalidArgument, "unknown stop signal {}", static_cast<int>(s));
  name = name.substr(7);
  if (auto p = name.find("PLUS"); p != std::string::npos) name.replace(p, 4, "+");
  if (auto p = name.find("MINUS"); p != std::string::npos) name.replace(p, 5, "-");
  return container::parse_signal(name);
}

Result<oci::Resources> to_resources(const v1::LinuxContainerResources& in) {
  oci::Resources r;
  r.cpu_period = in.cpu_period();
  r.cpu_quota = in.cpu_quota();
  r.cpu_shares = in.cpu_shares();
  r.memory_limit_in_bytes = in.memory_limit_in_bytes();
  r.memory_swap_limit_in_bytes = in.memory_swap_limit_in_bytes();
  r.oom_score_adj = in.oom_score_adj();
  r.cpuset_cpus = in.cpuset_cpus();
  r.cpuset_mems = in.cpuset_mems();
  for (const auto& h : in.hugepage_limits()) r.hugepage_limits.push_back({h.page_size(), h.limit()});
  r.unified.insert(in.unified().begin(), in.unified().end());
  return r;
}

void to_cri(const oci::Resources& in, v1::LinuxContainerResources* out) {
  out->set_cpu_period(in.cpu_period);
  out->set_cpu_quota(in.cpu_quota);
  out->set_cpu_shares(in.cpu_shares);
  out->set_memory_limit_in_bytes(in.memory_limit_in_bytes);
  out->set_memory_swap_limit_in_bytes(in.memory_swap_limit_in_bytes);
  out->set_oom_score_adj(in.oom_score_adj);
  out->set_cpuset_cpus(in.cpuset_cpus);
  out->set_cpuset_mems(in.cpuset_mems);
  for (const auto& h : in.hugepage_limits) {
    auto* hp = out->add_hugepage_limits();
    hp->set_page_size(h.page_size);
    hp->set_limit(h.limit);
  }
  out->mutable_unified()->insert(in.unified.begin(), in.unified.end());
}

Result<container::CreateRequest> to_create_request(const v1::CreateContainerRequest& in) {
  const auto& c = in.config();
  container::CreateRequest out;
  out.pod_id = in.pod_sandbox_id();
  oci::ContainerRequest& r = out.request;
  r.name = c.metadata().name();
  r.attempt = c.metadata().attempt();
  r.image_ref = c.image().image();
  r.command.assign(c.command().begin(), c.command().end());
  r.args.assign(c.args().begin(), c.args().end());
  r.working_dir = c.working_dir();
  for (const auto& kv : c.envs()) r.envs.emplace_back(kv.key(), kv.value());
  for (const auto& m : c.mounts()) {
    if (m.has_image())
      return make_error(ErrorKind::kUnimplemented, "container {}: image volume mounts are not supported", r.name);
    if (!m.uidmappings().empty() || !m.gidmappings().empty())
      return make_error(ErrorKind::kUnimplemented, "container {}: id-mapped mounts are not supported", r.name);
    oci::Mount mount;
    mount.container_path = m.container_path();
    mount.host_path = m.host_path();
    mount.readonly = m.readonly();
    mount.recursive_read_only = m.recursive_read_only();
    mount.selinux_relabel = m.selinux_relabel();
    switch (m.propagation()) {
      case v1::PROPAGATION_HOST_TO_CONTAINER: mount.propagation = oci::MountPropagation::kHostToContainer; break;
      case v1::PROPAGATION_BIDIRECTIONAL: mount.propagation = oci::MountPropagation::kBidirectional; break;
      default: mount.propagation = oci::MountPropagation::kPrivate; break;
    }
    r.mounts.push_back(std::move(mount));
  }
  for (const auto& d : c.devices())
    r.devices.push_back({d.container_path(), d.host_path(), d.permissions().empty() ? "rwm" : d.permissions()});
  r.labels.insert(c.labels().begin(), c.labels().end());
  r.annotations.insert(c.annotations().begin(), c.annotations().end());
  r.log_path = c.log_path();
  r.stdin = c.stdin();
  r.stdin_once = c.stdin_once();
  r.tty = c.tty();
  CRID_ASSIGN(out.stop_signal, to_signal_number(c.stop_signal()));

  const auto& lx = c.linux();
  CRID_ASSIGN(r.resources, to_resources(lx.resources()));
  const auto& sc = lx.security_context();
  auto& s = r.security;
  s.add_capabilities.assign(sc.capabilities().add_capabilities().begin(), sc.capabilities().add_capabilities().end());
  s.drop_capabilities.assign(sc.capabilities().drop_capabilities().begin(),
                             sc.capabilities().drop_capabilities().end());
  s.add_ambient_capabilities.assign(sc.capabilities().add_ambient_capabilities().begin(),
                                    sc.capabilities().add_ambient_capabilities().end());
  s.privileged = sc.privileged();
  const auto& ns = sc.namespace_options();
  s.namespace_options.network = to_mode(ns.network());
  s.namespace_options.pid = to_mode(ns.pid());
  s.namespace_options.ipc = to_mode(ns.ipc());
  s.namespace_options.target_id = ns.target_id();
  if (ns.has_userns_options() && ns.userns_options().mode() != v1::NODE)
    return make_error(ErrorKind::kUnimplemented, "container {}: user namespaces are not supported", r.name);
  if (sc.has_run_as_user()) s.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) s.run_as_group = sc.run_as_group().value();
  s.run_as_username = sc.run_as_username();
  // CRI: a group alone would leave the user to the image, which is not what
  // the request meant; the kubelet, CRI-O and containerd refuse it too.
  if (s.run_as_group && !s.run_as_user && s.run_as_username.empty())
    return make_error(ErrorKind::kInvalidArgument,
                      "container {}: run_as_group is set without run_as_user or run_as_username", r.name);
  s.readonly_rootfs = sc.readonly_rootfs();
  s.supplemental_groups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
  s.no_new_privs = sc.no_new_privs();
  // The kubelet sends the lists it wants (its defaults unless procMount is
  // Unmasked); without a kubelet, nothing sent means crid's defaults.
  if (!sc.masked_paths().empty() || !sc.readonly_paths().empty()) {
    s.masked_paths = std::vector<std::string>(sc.masked_paths().begin(), sc.masked_paths().end());
    s.readonly_paths = std::vector<std::string>(sc.readonly_paths().begin(), sc.readonly_paths().end());
  }
  CRID_ASSIGN(s.seccomp, to_profile(sc.has_seccomp(), sc.seccomp(), sc.seccomp_profile_path(), "seccomp"));
  CRID_ASSIGN(s.apparmor, to_profile(sc.has_apparmor(), sc.apparmor(), sc.apparmor_profile(), "AppArmor"));
  const auto& se = sc.selinux_options();
  s.selinux = {se.user(), se.role(), se.type(), se.level()};
  return out;
}

container::ContainerFilter to_container_filter(const v1::ContainerFilter& in) {
  container::ContainerFilter f;
  f.id_prefix = in.id();
  f.pod_id_prefix = in.pod_sandbox_id();
  if (in.has_state()) f.state = static_cast<container::ContainerState>(in.state().state());
  f.labels.insert(in.label_selector().begin(), in.label_selector().end());
  return f;
}

namespace {

template <typename Out>
void common(const container::ContainerRecord& in, Out* out) {
  out->set_id(in.id);
  out->mutable_metadata()->set_name(in.name);
  out->mutable_metadata()->set_attempt(in.attempt);
  out->mutable_image()->set_image(in.image_name);
  out->mutable_image()->set_user_specified_image(in.image_name);
  out->set_image_ref(in.image_ref);
  out->set_image_id(in.image_id);
  out->set_state(static_cast<v1::ContainerState>(static_cast<int>(in.state)));
  out->set_created_at(in.created_ns);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
  out->mutable_annotations()->insert(in.annotations.begin(), in.annotations.end());
}

}  // namespace

void to_cri(const container::ContainerRecord& in, v1::Container* out) {
  common(in, out);
  out->set_pod_sandbox_id(in.pod_id);
  // Kubelets before 1.30 know no image_id: their image garbage collector
  // takes a listed container's image_ref as the id of the image it keeps in
  // use and matches it against ListImages ids. A repo digest there matches
  // nothing, so the image of a running container looks unused. Listing gives
  // the id (as containerd and CRI-O do); ContainerStatus keeps the repo
  // digest, which the kubelet shows as the pod's imageID.
  out->set_image_ref(in.image_id);
}

void to_cri(const container::ContainerRecord& in, v1::ContainerStatus* out) {
  common(in, out);
  out->set_started_at(in.started_ns);
  out->set_finished_at(in.finished_ns);
  out->set_exit_code(in.exit_code);
  out->set_reason(in.reason);
  out->set_message(in.message);
  for (const auto& m : in.mounts) {
    auto* cm = out->add_mounts();
    cm->set_container_path(m.container_path);
    cm->set_host_path(m.host_path);
    cm->set_readonly(m.readonly);
    cm->set_recursive_read_only(m.recursive_read_only);
    cm->set_selinux_relabel(m.selinux_relabel);
    cm->set_propagation(static_cast<v1::MountPropagation>(static_cast<int>(m.propagation)));
  }
  out->set_log_path(in.log_path);
  to_cri(in.resources, out->mutable_resources()->mutable_linux());
  auto* user = out->mutable_user()->mutable_linux();
  user->set_uid(in.user.uid);
  user->set_gid(in.user.gid);
  for (auto g : in.user.additional_gids) user->add_supplemental_groups(g);
  // The enum numbers signals by name; look the number up the other way.
  for (int s = 1; s <= v1::Signal_MAX; ++s) {
    auto n = to_signal_number(static_cast<v1::Signal>(s));
    if (v1::Signal_IsValid(s) && n && *n == in.stop_signal) {
      out->set_stop_signal(static_cast<v1::Signal>(s));
      break;
    }
  }
}

}  // namespace crid::server
