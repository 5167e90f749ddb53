#include "sandbox/pod_validation.h"

#include "sandbox/bandwidth.h"
#include "sandbox/pod_files.h"
#include "util/fs.h"
#include "util/path_checks.h"

namespace crid::sandbox {

namespace {

Status validate(const PodConfig& c) {
  if (c.metadata.name.empty())
    return make_error(ErrorKind::kInvalidArgument, "pod sandbox config: metadata.name is empty");
  if (c.metadata.namespace_.empty())
    return make_error(ErrorKind::kInvalidArgument,
                      "pod sandbox config of {}: metadata.namespace is empty", c.metadata.name);
  for (auto& pm : c.port_mappings) {
    if (pm.container_port <= 0 || pm.container_port > 65535 || pm.host_port < 0 ||
        pm.host_port > 65535)
      return make_error(ErrorKind::kInvalidArgument,
                        "pod {}: port mapping {}->{} is out of range", c.metadata.name,
                        pm.host_port, pm.container_port);
  }
  if (c.namespaces.network == NamespaceMode::kTarget || c.namespaces.ipc == NamespaceMode::kTarget)
    return make_error(ErrorKind::kInvalidArgument,
                      "pod {}: namespace mode TARGET applies to containers, not pods",
                      c.metadata.name);
  // crid creates the log directory: a relative one would land beside the
  // daemon's cwd, and ".." would make its location depend on what exists.
  const std::string& logs = c.log_directory;
  if (!logs.empty() && (logs.front() != '/' || fs::has_dot_dot_component(logs) ||
                        logs.find('\0') != std::string::npos))
    return make_error(ErrorKind::kInvalidArgument,
                      "pod {}: log directory \"{}\" must be an absolute path without \"..\"",
                      c.metadata.name, logs);
  return Ok();
}

// cgroupfs is the driver crid manages; the systemd driver needs systemd.
Result<std::string> effective_cgroup_parent(const Config& cfg, const PodConfig& c) {
  if (cfg.cgroup_driver == "systemd") {
    if (!fs::exists("/run/systemd/system"))
      return make_error(ErrorKind::kFailedPrecondition,
                        "systemd cgroup driver needs systemd as PID 1 (/run/systemd/system is "
                        "absent); set cgroup_driver = \"cgroupfs\"");
    return c.cgroup_parent.empty() ? std::string("system.slice") : c.cgroup_parent;
  }
  std::string parent = c.cgroup_parent.empty() ? cfg.default_cgroup_parent : c.cgroup_parent;
  if (parent.ends_with(".slice"))
    return make_error(ErrorKind::kInvalidArgument,
                      "cgroup parent {} is a systemd slice but the cgroup driver is cgroupfs",
                      parent);
  if (parent.find("..") != std::string::npos)
    return make_error(ErrorKind::kInvalidArgument, "cgroup parent {} must not contain \"..\"",
                      parent);
  return parent;
}

}  // namespace

Result<PodRunPlan> plan_pod_run(const Config& cfg, const PodConfig& config,
                                const std::string& runtime_handler) {
  CRID_TRY(validate(config));
  PodRunPlan plan;
  plan.handler = runtime_handler.empty() ? cfg.default_handler : runtime_handler;
  if (!cfg.handlers.count(plan.handler)) {
    std::string known;
    for (auto& [name, h] : cfg.handlers) known += (known.empty() ? "" : ", ") + name;
    return make_error(ErrorKind::kInvalidArgument,
                      "pod {}: unknown runtime handler \"{}\" (configured: {})",
                      config.metadata.name, plan.handler, known);
  }
  CRID_ASSIGN(plan.cgroup_parent, effective_cgroup_parent(cfg, config));
  CRID_ASSIGN(plan.sysctls, plan_sysctls(config.sysctls, config.namespaces));
  if (!config.dns.empty()) CRID_TRY(resolv_conf(config.dns));  // refuse bad DNS up front
  CRID_ASSIGN(plan.bandwidth, bandwidth_from_annotations(config.annotations));
  return plan;
}

}  // namespace crid::sandbox
