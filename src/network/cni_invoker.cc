#include "network/cni_invoker.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/process.h"

extern char** environ;

namespace crid::network {

namespace {

using json = nlohmann::json;

const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The daemon's environment minus any CNI_* it may carry, plus the CNI
// variables of this call. Plugins need PATH (portmap and bridge run
// iptables), so it is provided when the daemon has none.
std::vector<std::string> plugin_env(const std::string& command, const PodNetworkSpec& pod,
                                    const std::vector<std::string>& bin_dirs) {
  std::vector<std::string> env;
  bool have_path = false;
  for (char** e = environ; e && *e; e++) {
    std::string_view kv(*e);
    if (kv.starts_with("CNI_")) continue;
    if (kv.starts_with("PATH=")) have_path = true;
    env.emplace_back(kv);
  }
  if (!have_path) env.push_back(std::string("PATH=") + kDefaultPath);
  env.push_back("CNI_COMMAND=" + command);
  env.push_back("CNI_CONTAINERID=" + pod.pod_id);
  env.push_back("CNI_NETNS=" + pod.netns);
  env.push_back("CNI_IFNAME=eth0");
  env.push_back("CNI_PATH=" + join(bin_dirs, ":"));
  env.push_back("CNI_ARGS=" + cni_args(pod));
  return env;
}

std::string plugin_type(const json& plugin) { return plugin.value("type", std::string()); }

Result<std::string> find_plugin(const std::string& type, const CniNetwork& net,
                                const std::vector<std::string>& bin_dirs) {
  // The type names a file in the bin dirs, never a path elsewhere.
  if (type.empty() || type.find('/') != std::string::npos || type == "." || type == "..")
    return make_error(ErrorKind::kInvalidArgument, "CNI network {} ({}): invalid plugin type \"{}\"",
                      net.name, net.file, type);
  for (auto& dir : bin_dirs) {
    std::string path = dir + "/" + type;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return make_error(ErrorKind::kFailedPrecondition,
                    "CNI plugin \"{}\" of network {} not found in {}", type, net.name,
                    join(bin_dirs, ":"));
}

// Runs one plugin for `command`; returns its stdout.
Result<std::string> exec_plugin(const Config& cfg, const CniNetwork& net, const json& plugin,
                                const std::string& command, const PodNetworkSpec& pod,
                                const json& prev_result) {
  std::string type = plugin_type(plugin);
  CRID_ASSIGN(std::string path, find_plugin(type, net, cfg.cni_bin_dirs));
  SpawnOptions opts;
  opts.argv = {path};
  opts.env = plugin_env(command, pod, cfg.cni_bin_dirs);
  opts.stdin_data = plugin_stdin(net, plugin, pod, prev_result).dump();
  opts.timeout = cfg.cni_plugin_timeout;
  opts.max_output = 4 << 20;
  auto started = run_process(opts);
  if (!started)
    return started.error().wrap(fmt::format("CNI plugin {} ({} of network {})", type, command,
                                            net.name));
  const ProcessOutput& out = *started;
  if (out.success()) return out.out;
  std::string why;
  if (auto report = parse_cni_error(out.out)) {
    why = report->msg;
    if (!report->details.empty()) why += ": " + report->details;
    if (report->code) why += fmt::format(" (code {})", report->code);
  } else {
    why = out.describe();
  }
  ErrorKind kind = out.timed_out ? ErrorKind::kDeadlineExceeded : ErrorKind::kInternal;
  return Error(kind, fmt::format("CNI plugin {} {} failed for pod {} on network {}: {}", type,
                                 command, log::short_id(pod.pod_id), net.name, why));
}

// DEL of the first `count` plugins of the list in reverse; errors of all
// plugins are reported together but every plugin is still asked (each
// releases its own resources).
Status del_list(const Config& cfg, const CniNetwork& net, const PodNetworkSpec& pod,
                const json& result, size_t count = SIZE_MAX) {
  // Before 0.4.0 DEL carried no prevResult.
  json prev = cni_version_at_least(net.cni_version, 0, 4) ? result : json();
  std::vector<std::string> failures;
  for (size_t i = std::min(count, net.plugins.size()); i-- > 0;) {
    auto r = exec_plugin(cfg, net, net.plugins[i], "DEL", pod, prev);
    if (!r) failures.push_back(r.error().message());
  }
  if (failures.empty()) return Ok();
  return make_error(ErrorKind::kInternal, "{}", join(failures, "; "));
}

}  // namespace

std::vector<std::string> missing_plugins(const CniNetwork& net,
                                         const std::vector<std::string>& bin_dirs) {
  std::vector<std::string> missing;
  auto need = [&](const std::string& type) {
    if (!find_plugin(type, net, bin_dirs).ok()) missing.push_back(type);
  };
  for (auto& plugin : net.plugins) {
    need(plugin_type(plugin));
    if (auto ipam = plugin.find("ipam"); ipam != plugin.end() && ipam->is_object() &&
                                         ipam->contains("type") && (*ipam)["type"].is_string())
      need((*ipam)["type"].get<std::string>());
  }
  return missing;
}

std::string cni_args(const PodNetworkSpec& pod) {
  return fmt::format(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={};"
      "K8S_POD_UID={}",
      pod.pod_namespace, pod.pod_name, pod.pod_id, pod.pod_uid);
}

json plugin_stdin(const CniNetwork& net, const json& plugin, const PodNetworkSpec& pod,
                  const json& prev_result) {
  json conf = plugin;
  conf["name"] = net.name;
  conf["cniVersion"] = net.cni_version;
  conf.erase("prevResult");
  conf.erase("runtimeConfig");
  if (!prev_result.is_null()) conf["prevResult"] = prev_result;

  // Only the capabilities a plugin declares reach it (CNI conventions).
  json rc = json::object();
  auto caps = plugin.find("capabilities");
  auto wants = [&](const char* cap) {
    return caps != plugin.end() && caps->is_object() && caps->value(cap, false) == true;
  };
  if (wants("portMappings") && !pod.port_mappings.empty()) {
    json pms = json::array();
    for (auto& pm : pod.port_mappings) {
      json m = {{"hostPort", pm.host_port},
                {"containerPort", pm.container_port},
                {"protocol", pm.protocol}};
      if (!pm.host_ip.empty()) m["hostIP"] = pm.host_ip;
      pms.push_back(m);
    }
    rc["portMappings"] = pms;
  }
  if (wants("bandwidth") && !pod.bandwidth.is_null()) rc["bandwidth"] = pod.bandwidth;
  if (wants("dns") && !pod.dns.is_null()) rc["dns"] = pod.dns;
  if (wants("ips") && !pod.ips.empty()) rc["ips"] = pod.ips;
  if (wants("ipRanges") && !pod.pod_cidr.empty())
    rc["ipRanges"] = json::array({json::array({{{"subnet", pod.pod_cidr}}})});
  if (!rc.empty()) conf["runtimeConfig"] = rc;
  return conf;
}

json to_json(const PodNetworkSpec& pod) {
  json pms = json::array();
  for (auto& pm : pod.port_mappings)
    pms.push_back({{"protocol", pm.protocol}, {"containerPort", pm.container_port},
                   {"hostPort", pm.host_port}, {"hostIP", pm.host_ip}});
  return {{"podId", pod.pod_id},   {"netns", pod.netns},        {"name", pod.pod_name},
          {"namespace", pod.pod_namespace}, {"uid", pod.pod_uid}, {"portMappings", pms},
          {"bandwidth", pod.bandwidth}, {"dns", pod.dns},       {"ips", pod.ips},
          {"podCIDR", pod.pod_cidr}};
}

PodNetworkSpec pod_spec_from_json(const json& j) {
  PodNetworkSpec pod;
  auto s = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  pod.pod_id = s("podId");
  pod.netns = s("netns");
  pod.pod_name = s("name");
  pod.pod_namespace = s("namespace");
  pod.pod_uid = s("uid");
  pod.pod_cidr = s("podCIDR");
  if (j.contains("portMappings") && j["portMappings"].is_array())
    for (auto& m : j["portMappings"])
      pod.port_mappings.push_back({m.value("protocol", "tcp"), m.value("containerPort", 0),
                                   m.value("hostPort", 0), m.value("hostIP", "")});
  if (j.contains("bandwidth")) pod.bandwidth = j["bandwidth"];
  if (j.contains("dns")) pod.dns = j["dns"];
  if (j.contains("ips") && j["ips"].is_array())
    for (auto& ip : j["ips"])
      if (ip.is_string()) pod.ips.push_back(ip.get<std::string>());
  return pod;
}

json to_json(const CniNetwork& net) {
  return {{"file", net.file}, {"name", net.name}, {"cniVersion", net.cni_version},
          {"plugins", net.plugins}};
}

Result<CniNetwork> network_from_json(const json& j) {
  if (!j.is_object() || !j.contains("plugins"))
    return make_error(ErrorKind::kInternal, "cached CNI network is malformed");
  json doc = {{"name", j.value("name", "")}, {"cniVersion", j.value("cniVersion", "")},
              {"plugins", j["plugins"]}};
  return parse_cni_network(doc.dump(), j.value("file", "cache"));
}

CniInvoker::CniInvoker(const ConfigHolder& config, std::string cache_dir)
    : config_(config), cache_dir_(std::move(cache_dir)) {}

std::string CniInvoker::cache_path(const std::string& pod_id) const {
  return cache_dir_ + "/" + pod_id + ".json";
}

std::optional<json> CniInvoker::cached(const std::string& pod_id) const {
  auto text = fs::read_file(cache_path(pod_id), 8 << 20);
  if (!text) return std::nullopt;
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

Result<CniAttachment> CniInvoker::add(const PodNetworkSpec& pod) {
  auto cfg = config_.get();
  std::vector<std::string> skipped;
  auto net = load_default_network(cfg->cni_conf_dir, &skipped);
  if (!net)
    return make_error(ErrorKind::kFailedPrecondition,
                      "no CNI network configuration found in {}{}", cfg->cni_conf_dir,
                      skipped.empty() ? "" : " (skipped: " + join(skipped, "; ") + ")");
  std::string tag = fmt::format("[CNI pod={} net={}]", log::short_id(pod.pod_id), net->name);

  // The entry exists before the first plugin runs: if the daemon dies in
  // the middle, DEL after restart still knows what to undo.
  CRID_TRY_CTX(fs::make_dirs(cache_dir_, 0700), "creating CNI cache dir {}", cache_dir_);
  json entry = {{"network", to_json(*net)}, {"pod", to_json(pod)}, {"result", nullptr}};
  CRID_TRY_CTX(fs::write_file_atomic(cache_path(pod.pod_id), entry.dump(), 0600),
               "writing CNI cache entry for pod {}", pod.pod_id);

  json prev;
  // Plugins that may hold something for this pod: those that ran ADD,
  // including the one that failed (it may have done part of its work).
  size_t started = 0;
  auto fail = [&](const Error& e) -> Error {
    spdlog::warn("{} ADD failed, undoing with DEL: {}", tag, e.message());
    if (auto st = del_list(*cfg, *net, pod, prev, started); !st)
      spdlog::error("{} DEL after failed ADD: {}", tag, st.error().message());
    else
      ::unlink(cache_path(pod.pod_id).c_str());
    return e;
  };
  for (auto& plugin : net->plugins) {
    // A plugin that cannot be found never ran: nothing of it to undo.
    if (auto found = find_plugin(plugin_type(plugin), *net, cfg->cni_bin_dirs); !found)
      return fail(found.error());
    started++;
    auto out = exec_plugin(*cfg, *net, plugin, "ADD", pod, prev);
    if (!out) return fail(out.error());
    if (out->empty()) continue;  // tolerate a plugin that passes nothing on
    json doc = json::parse(*out, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return fail(make_error(ErrorKind::kInternal, "CNI plugin {} ADD printed no JSON result: {}",
                             plugin_type(plugin), out->substr(0, 200)));
    prev = std::move(doc);
  }
  auto parsed = parse_cni_result(prev.is_null() ? "{}" : prev.dump());
  if (!parsed) return fail(parsed.error().wrap("network " + net->name));

  entry["result"] = prev;
  if (auto st = fs::write_file_atomic(cache_path(pod.pod_id), entry.dump(), 0600); !st)
    return fail(st.error().wrap("caching CNI result"));
  spdlog::info("{} attached: {}", tag, join(parsed->pod_ips(), ", "));
  return CniAttachment{net->name, net->cni_version, std::move(parsed).value(), prev};
}

Status CniInvoker::del(const std::string& pod_id) {
  auto entry = cached(pod_id);
  if (!entry) return Ok();
  CRID_ASSIGN(CniNetwork net, network_from_json((*entry)["network"]));
  PodNetworkSpec pod = pod_spec_from_json((*entry)["pod"]);
  auto cfg = config_.get();
  CRID_TRY(del_list(*cfg, net, pod, (*entry)["result"]));
  if (::unlink(cache_path(pod_id).c_str()) != 0 && errno != ENOENT)
    return sys_error("removing CNI cache entry {}", cache_path(pod_id));
  spdlog::info("[CNI pod={} net={}] detached", log::short_id(pod_id), net.name);
  return Ok();
}

Status CniInvoker::check(const std::string& pod_id) {
  auto entry = cached(pod_id);
  if (!entry || (*entry)["result"].is_null())
    return make_error(ErrorKind::kFailedPrecondition, "pod {} has no CNI attachment to check",
                      pod_id);
  CRID_ASSIGN(CniNetwork net, network_from_json((*entry)["network"]));
  if (!cni_version_at_least(net.cni_version, 0, 4)) return Ok();  // CHECK came in 0.4.0
  PodNetworkSpec pod = pod_spec_from_json((*entry)["pod"]);
  auto cfg = config_.get();
  for (auto& plugin : net.plugins)
    CRID_TRY(exec_plugin(*cfg, net, plugin, "CHECK", pod, (*entry)["result"]));
  return Ok();
}

}  // namespace crid::network
