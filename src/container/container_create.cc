// CreateContainer as a short driver of named steps, each undone by the
// rollback stack if a later one fails: check pod and image -> reserve the
// name -> rootfs overlay -> image volumes -> host paths of bind mounts
// resolved and staged -> OCI spec (user resolved from the rootfs) ->
// bundle -> runtime create under its monitor -> row.
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <chrono>

#include "container/container_manager.h"
#include "container/signals.h"
#include "oci/capabilities.h"
#include "oci/devices.h"
#include "oci/host_limits.h"
#include "oci/seccomp_localhost.h"
#include "oci/spec_builder.h"
#include "oci/user_resolver.h"
#include "sandbox/pod_files.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/path_checks.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/clock.h"
#include "util/failpoint.h"

namespace crid::container {

namespace {

bool unified_cgroup_host() {
  struct statfs s {};
  return ::statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

int64_t read_own_oom_score_adj() {
  auto text = fs::read_file("/proc/self/oom_score_adj", 64);
  if (!text) return 0;
  return std::strtoll(text->c_str(), nullptr, 10);
}

std::string node_hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// What the pod gives its containers, from the stored pod.
oci::SandboxInfo sandbox_info(const sandbox::Pod& pod, const std::string& pod_dir,
                              const std::string& shm_path) {
  oci::SandboxInfo sb;
  const auto& c = pod.config;
  sb.id = pod.id;
  sb.name = c.metadata.name;
  sb.namespace_ = c.metadata.namespace_;
  sb.uid = c.metadata.uid;
  // A pod created without a hostname shows the node's (in /etc/hostname and
  // its UTS namespace); HOSTNAME in the environment says the same, as with
  // containerd. The kubelet always sends one.
  sb.hostname = c.hostname.empty() ? node_hostname() : c.hostname;
  sb.network_ns_path = pod.ns.net;
  sb.ipc_ns_path = pod.ns.ipc;
  sb.uts_ns_path = pod.ns.uts;
  sb.host_network = c.namespaces.network == sandbox::NamespaceMode::kNode;
  sb.host_ipc = c.namespaces.ipc == sandbox::NamespaceMode::kNode;
  // The same numbering in both layers (CRI's).
  sb.pid_mode = static_cast<oci::NamespaceMode>(static_cast<int>(c.namespaces.pid));
  if (!pod.infra.empty()) sb.infra_pid_ns_path = fmt::format("/proc/{}/ns/pid", pod.infra.pid);
  sandbox::PodFilePaths files{pod_dir};
  if (fs::exists(files.hosts())) sb.hosts_path = files.hosts();
  if (fs::exists(files.resolv_conf())) sb.resolv_conf_path = files.resolv_conf();
  if (fs::exists(files.hostname())) sb.hostname_path = files.hostname();
  sb.shm_path = shm_path;
  sb.cgroup_parent = pod.cgroup_parent;
  sb.privileged = c.privileged;
  sb.sysctls = c.sysctls;
  sb.annotations = c.annotations;
  sb.labels = c.labels;
  return sb;
}

// The kubelet's log path is relative to the pod's log directory.
std::string resolve_log_path(const sandbox::Pod& pod, const oci::ContainerRequest& req,
                             const RootfsPaths& paths) {
  if (!req.log_path.empty() && req.log_path.front() == '/') return req.log_path;
  if (!req.log_path.empty() && !pod.config.log_directory.empty())
    return pod.config.log_directory + "/" + req.log_path;
  // Nobody asked for a log: keep one with the container's storage anyway,
  // so its output is not lost to a broken pipe.
  return paths.dir + "/container.log";
}

}  // namespace

Result<std::string> ContainerManager::create(const CreateRequest& cr,
                                             const std::function<bool()>& caller_gone) {
  const oci::ContainerRequest& req = cr.request;
  auto cfg = deps_.config.get();
  if (req.name.empty())
    return make_error(ErrorKind::kInvalidArgument, "CreateContainer: the container has no name");
  if (req.image_ref.empty())
    return make_error(ErrorKind::kInvalidArgument, "container {}: no image given", req.name);
  // The log path is relative to the pod's log directory; ".." would let a
  // request have conmon create or append to any file on the node.
  if (fs::has_dot_dot_component(req.log_path) || req.log_path.find('\0') != std::string::npos)
    return make_error(ErrorKind::kInvalidArgument,
                      "container {}: log path \"{}\" must not contain \"..\"", req.name,
                      req.log_path);

  // The pod first: nothing to undo yet.
  auto pod_r = deps_.pods.status(cr.pod_id);
  if (!pod_r) {
    if (pod_r.error().kind() == ErrorKind::kNotFound)
      return make_error(ErrorKind::kNotFound, "container {}: pod sandbox {} not found", req.name, cr.pod_id);
    return pod_r.error().wrap(fmt::format("container {}", req.name));
  }
  const std::string id = new_id();
  const std::string tag = fmt::format("[CreateContainer ctr={} name={} pod={}]", log::short_id(id),
                                      req.name, log::short_id(pod_r->id));
  Cleanup undo;

  // 1. The name, unique per pod and attempt. Reserved before the pod's
  // lock is taken: a retry waits here for the first create, which needs it.
  std::string key = name_key(pod_r->id, req.name, req.attempt);
  CRID_ASSIGN(auto earlier, reserve_name(key, id, caller_gone));
  if (earlier) {
    spdlog::info("{} retry: answering with container {}, made after the first caller gave up",
                 tag, *earlier);
    return *earlier;
  }
  undo.add("release name", [this, key] { release_name(key); });

  // Stop and Remove of the pod wait for this create: its container never
  // outlives the pod. The pod is read again under the lock.
  auto pod_guard = deps_.pods.lock_pod(pod_r->id);
  pod_r = deps_.pods.status(pod_r->id);
  if (!pod_r) {
    if (pod_r.error().kind() == ErrorKind::kNotFound)
      return make_error(ErrorKind::kNotFound, "container {}: pod sandbox {} not found", req.name, cr.pod_id);
    return pod_r.error().wrap(fmt::format("container {}", req.name));
  }
  sandbox::Pod pod = std::move(pod_r).value();
  if (pod.state != sandbox::PodState::kReady)
    return make_error(ErrorKind::kFailedPrecondition, "container {}: pod sandbox {} is not ready",
                      req.name, pod.id);
  // A dead pause means the pod's PID namespace is gone: joining the path of
  // a recycled pid would land the container in a stranger's namespace.
  if (!pod.infra.empty() && !sandbox::pause_alive(pod.infra))
    return make_error(ErrorKind::kFailedPrecondition,
                      "container {}: the pause (pid {}) holding the PID namespace of pod {} is gone",
                      req.name, pod.infra.pid, pod.id);
  auto image = deps_.images.status(req.image_ref);
  if (!image)
    return make_error(ErrorKind::kNotFound, "container {}: image {} not found (pull it first)",
                      req.name, req.image_ref);
  CRID_ASSIGN(image::ImageConfig image_config, image::parse_image_config(image->config_json));
  if (image->chain_ids.empty())
    return make_error(ErrorKind::kInvalidArgument, "container {}: image {} has no layers", req.name,
                      req.image_ref);

  std::string handler_name = pod.runtime_handler.empty() ? cfg->default_handler : pod.runtime_handler;
  auto handler_it = cfg->handlers.find(handler_name);
  if (handler_it == cfg->handlers.end())
    return make_error(ErrorKind::kNotFound, "container {}: runtime handler \"{}\" is not configured",
                      req.name, handler_name);

  int stop_signal = cr.stop_signal;
  if (stop_signal == 0 && !image_config.stop_signal.empty()) {
    CRID_ASSIGN(stop_signal, parse_signal(image_config.stop_signal));
  }
  if (stop_signal == 0) stop_signal = SIGTERM;

  // From here on every step is noted in the journal before it acts, so
  // the next start undoes what a daemon killed half-way made. Declared
  // before the steps' undo stack: it finishes after the rollback.
  CRID_ASSIGN(auto op, journal_->begin(kCreateOperation, id, {{"name", key}}));
  Cleanup undo_steps;

  // 2. Rootfs overlay.
  RootfsPaths paths = rootfs_paths(id);
  CRID_ASSIGN(auto lowers, deps_.images.layers().lower_dirs(image->chain_ids.back()));
  CRID_TRY(op.note("rootfs"));
  undo_steps.add("remove rootfs", [paths] { (void)remove_rootfs(paths); });
  CRID_TRY_CTX(mount_rootfs(paths, lowers), "container {}: image {}", req.name, req.image_ref);
  CRID_ASSIGN(auto volumes, make_image_volumes(paths, image_config.volumes));

  // 3. The request's host paths, resolved without following planted
  // symlinks and mounted by fd at staging points (container_host_paths.cc).
  CRID_TRY_CTX(oci::validate_mount_sources(req), "container {}", req.name);
  std::string stages = host_path_stage_dir(id);
  undo.add("unstage host paths", [this, id] {
    if (auto s = unstage_host_paths_of(id); !s)
      spdlog::error("[CreateContainer ctr={}] rollback: {}", log::short_id(id), s.error().message());
  });
  CRID_TRY_CTX(fs::make_dirs(cfg->runroot + "/hostpaths", 0700), "container {}: host path staging", req.name);
  CRID_ASSIGN(auto staged_mounts, stage_mounts(id, req, stages));

  // 4. The spec: everything the pure builder needs, gathered here.
  oci::SpecInputs in;
  in.request = req;
  in.request.mounts = std::move(staged_mounts);
  in.sandbox = sandbox_info(pod, deps_.pods.pod_dir(pod.id), deps_.pods.shm_path(pod));
  in.image = image_config;
  in.image_volumes = std::move(volumes);
  auto& ctx = in.context;
  ctx.rootfs_path = paths.merged();
  ctx.container_id = id;
  ctx.runtime_handler = handler_name;
  ctx.bounding_set = oci::read_bounding_set();
  ctx.pids_limit = cfg->pids_limit;
  ctx.rlimit_nofile = oci::nofile_limit_for_containers(ctx.rlimit_nofile);
  ctx.restrict_oom_score_adj = cfg->restrict_oom_score_adj;
  ctx.daemon_oom_score_adj = read_own_oom_score_adj();
  ctx.seccomp_profile_root = cfg->seccomp_profile_root;
  ctx.unified_cgroups = unified_cgroup_host();
  ctx.cgroup_driver = cfg->cgroup_driver == "systemd" ? oci::CgroupDriver::kSystemd
                                                      : oci::CgroupDriver::kCgroupfs;
  CRID_ASSIGN(auto passwd, oci::read_rootfs_file(paths.merged(), "etc/passwd"));
  CRID_ASSIGN(auto group, oci::read_rootfs_file(paths.merged(), "etc/group"));
  in.passwd = passwd.value_or("");
  in.group = group.value_or("");
  CRID_ASSIGN(in.request_devices, oci::resolve_request_devices(req.devices));
  if (req.security.privileged) {
    CRID_ASSIGN(in.host_devices, oci::list_host_devices());
  }
  if (req.security.seccomp && req.security.seccomp->type == oci::SecurityProfile::Type::kLocalhost) {
    CRID_ASSIGN(auto profile, oci::load_localhost_seccomp_profile(cfg->seccomp_profile_root,
                                                                 req.security.seccomp->localhost_ref));
    in.localhost_seccomp_profile = std::move(profile);
  }
  CRID_ASSIGN(nlohmann::json spec, oci::build_spec(in));

  // 5. The bundle.
  std::string bundle = bundle_dir(id);
  CRID_TRY(op.note("bundle"));
  undo_steps.add("remove bundle", [bundle] { (void)fs::remove_all(bundle); });
  CRID_TRY_CTX(fs::make_dirs(bundle, 0700), "container {}: bundle", req.name);
  CRID_TRY_CTX(fs::write_file_atomic(bundle + "/config.json", spec.dump(2), 0600),
               "container {}: writing config.json", req.name);

  // 6. The runtime, under its monitor.
  runtime::CreateOptions opts;
  opts.id = id;
  opts.name = req.name;
  opts.pod_id = pod.id;
  opts.bundle_dir = bundle;
  opts.handler = handler_it->second;
  opts.conmon_path = cfg->conmon_path;
  opts.log_path = resolve_log_path(pod, req, paths);
  opts.log_size_max = cfg->log_size_max;
  opts.tty = req.tty;
  opts.stdin = req.stdin;
  opts.stdin_once = req.stdin_once;
  opts.exit_dir = exit_dir();
  opts.persist_dir = paths.dir + "/persist";
  CRID_TRY(op.note("runtime-create"));
  undo_steps.add("runtime remove", [this, id] { (void)deps_.runtime.remove(id); });
  CRID_ASSIGN(auto created, deps_.runtime.create(opts));
  CRID_TRY(op.note("monitor", {{"monitor_pid", created.monitor_pid}}));
  failpoint("container-created");

  // 7. The row.
  ContainerRecord rec;
  rec.id = id;
  rec.pod_id = pod.id;
  rec.name = req.name;
  rec.attempt = req.attempt;
  rec.state = ContainerState::kCreated;
  rec.created_ns = now_ns();
  rec.image_name = req.image_ref;
  rec.image_id = image->id;
  rec.image_ref = image->repo_digests.empty() ? image->id : image->repo_digests.front();
  rec.labels = req.labels;
  rec.annotations = req.annotations;
  rec.log_path = opts.log_path;
  rec.pid = created.init_pid;
  rec.runtime_handler = handler_name;
  rec.stop_signal = stop_signal;
  rec.mounts = req.mounts;
  rec.resources = req.resources;
  rec.tty = req.tty;
  rec.stdin = req.stdin;
  rec.stdin_once = req.stdin_once;
  rec.privileged = req.security.privileged;
  const auto& user = spec["process"]["user"];
  rec.user.uid = user.value("uid", 0u);
  rec.user.gid = user.value("gid", 0u);
  rec.user.additional_gids = user.value("additionalGids", std::vector<uint32_t>{});
  // The row and the journal's end in one commit.
  CRID_TRY(op.finish_with([&] { return store_->insert(rec); }));

  auto entry = std::make_shared<Entry>();
  entry->rec = rec;
  // Held from the moment the container can be found, so nothing about it
  // is published before CREATED.
  std::lock_guard events(entry->events_mu);
  {
    std::lock_guard lock(map_mu_);
    entries_[id] = entry;
    if (caller_gone && caller_gone()) {
      unclaimed_[key] = id;
      if (auto st = answers_->put(kContainerKind, key, id); !st)
        spdlog::warn("{} {} (a retry after a restart will find the name taken)", tag,
                     st.error().message());
      spdlog::info("{} created after its caller gave up: kept for the retry", tag);
    }
    names_cv_.notify_all();
  }
  undo_steps.dismiss();
  undo.dismiss();
  spdlog::info("{} created from {} ({}), init pid {}", tag, req.image_ref, image->id, created.init_pid);
  publish(events::ContainerEventType::kCreated, rec);
  return id;
}

}  // namespace crid::container
