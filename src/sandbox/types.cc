#include "sandbox/types.h"

#include <nlohmann/json.hpp>

namespace crid::sandbox {

using json = nlohmann::json;

std::string config_to_json(const PodConfig& c) {
  json pms = json::array();
  for (auto& pm : c.port_mappings)
    pms.push_back({{"protocol", pm.protocol}, {"containerPort", pm.container_port},
                   {"hostPort", pm.host_port}, {"hostIP", pm.host_ip}});
  json j = {
      {"metadata", {{"name", c.metadata.name}, {"uid", c.metadata.uid},
                    {"namespace", c.metadata.namespace_}, {"attempt", c.metadata.attempt}}},
      {"hostname", c.hostname},
      {"logDirectory", c.log_directory},
      {"dns", {{"servers", c.dns.servers}, {"searches", c.dns.searches},
               {"options", c.dns.options}}},
      {"portMappings", pms},
      {"labels", c.labels},
      {"annotations", c.annotations},
      {"cgroupParent", c.cgroup_parent},
      {"sysctls", c.sysctls},
      {"namespaces", {{"network", static_cast<int>(c.namespaces.network)},
                      {"pid", static_cast<int>(c.namespaces.pid)},
                      {"ipc", static_cast<int>(c.namespaces.ipc)},
                      {"targetId", c.namespaces.target_id}}},
      {"privileged", c.privileged},
      {"readonlyRootfs", c.readonly_rootfs},
      {"runAsUser", c.run_as_user},
      {"runAsGroup", c.run_as_group},
      {"supplementalGroups", c.supplemental_groups},
      {"seccompProfile", c.seccomp_profile},
      {"apparmorProfile", c.apparmor_profile},
  };
  return j.dump();
}

Result<PodConfig> config_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorKind::kInternal, "stored pod config is not a JSON object");
  try {
    PodConfig c;
    auto& m = j.at("metadata");
    c.metadata = {m.at("name"), m.at("uid"), m.at("namespace"), m.at("attempt")};
    c.hostname = j.at("hostname");
    c.log_directory = j.at("logDirectory");
    c.dns = {j.at("dns").at("servers"), j.at("dns").at("searches"), j.at("dns").at("options")};
    for (auto& pm : j.at("portMappings"))
      c.port_mappings.push_back(
          {pm.at("protocol"), pm.at("containerPort"), pm.at("hostPort"), pm.at("hostIP")});
    c.labels = j.at("labels").get<std::map<std::string, std::string>>();
    c.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    c.cgroup_parent = j.at("cgroupParent");
    c.sysctls = j.at("sysctls").get<std::map<std::string, std::string>>();
    auto& ns = j.at("namespaces");
    c.namespaces.network = static_cast<NamespaceMode>(ns.at("network").get<int>());
    c.namespaces.pid = static_cast<NamespaceMode>(ns.at("pid").get<int>());
    c.namespaces.ipc = static_cast<NamespaceMode>(ns.at("ipc").get<int>());
    c.namespaces.target_id = ns.at("targetId");
    c.privileged = j.at("privileged");
    c.readonly_rootfs = j.at("readonlyRootfs");
    c.run_as_user = j.at("runAsUser");
    c.run_as_group = j.at("runAsGroup");
    c.supplemental_groups = j.at("supplementalGroups").get<std::vector<int64_t>>();
    c.seccomp_profile = j.at("seccompProfile");
    c.apparmor_profile = j.at("apparmorProfile");
    return c;
  } catch (const json::exception& e) {
    return make_error(ErrorKind::kInternal, "stored pod config is malformed: {}", e.what());
  }
}

}  // namespace crid::sandbox
