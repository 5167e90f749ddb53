// Status: RuntimeReady and NetworkReady conditions the kubelet gates pods on.
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "network/cni_config.h"
#include "network/cni_invoker.h"
#include "server/runtime_service.h"

namespace crid::server {

namespace {

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

void add_condition(v1::RuntimeStatus* st, const char* type, bool ok, const std::string& reason,
                   const std::string& message) {
  auto* c = st->add_conditions();
  c->set_type(type);
  c->set_status(ok);
  if (!ok) {
    c->set_reason(reason);
    c->set_message(message);
  }
}

}  // namespace

grpc::Status RuntimeServiceImpl::Status(grpc::ServerContext*, const v1::StatusRequest* req,
                                        v1::StatusResponse* resp) {
  auto cfg = backend_.config.get();
  auto* st = resp->mutable_status();

  const auto& handler = cfg->handlers.at(cfg->default_handler);
  std::string runtime_problem;
  if (!executable(handler.runtime_path))
    runtime_problem = "runtime " + cfg->default_handler + " (" + handler.runtime_path +
                      ") is not installed or not executable";
  else if (!executable(cfg->conmon_path))
    runtime_problem = "conmon (" + cfg->conmon_path + ") is not installed or not executable";
  add_condition(st, "RuntimeReady", runtime_problem.empty(), "RuntimeNotReady", runtime_problem);

  std::vector<std::string> skipped;
  auto net = network::load_default_network(cfg->cni_conf_dir, &skipped);
  std::string net_problem;
  if (!net) {
    net_problem = "no CNI network configuration found in " + cfg->cni_conf_dir;
    if (!skipped.empty()) net_problem += " (skipped: " + skipped.front() + ")";
  } else if (auto missing = network::missing_plugins(*net, cfg->cni_bin_dirs); !missing.empty()) {
    net_problem = "CNI network " + net->name + " (" + net->file + ") needs plugins not found in " +
                  "the CNI bin dirs: " + fmt::format("{}", fmt::join(missing, ", "));
  }
  add_condition(st, "NetworkReady", net_problem.empty(), "NetworkPluginNotReady",
                net_problem);

  nlohmann::json handlers = nlohmann::json::object();
  for (auto& [name, h] : cfg->handlers) {
    auto* rh = resp->add_runtime_handlers();
    rh->set_name(name);
    handlers[name] = {{"runtime_path", h.runtime_path},
                      {"runtime_type", h.runtime_type},
                      {"installed", executable(h.runtime_path)}};
  }
  // The kubelet also expects the default handler under the empty name.
  resp->add_runtime_handlers()->set_name("");

  if (req->verbose()) {
    auto& info = *resp->mutable_info();
    info["config"] = render_json(*cfg);
    info["handlers"] = handlers.dump();
    nlohmann::json cni = {{"conf_dir", cfg->cni_conf_dir}, {"skipped", skipped}};
    if (net) cni["network"] = {{"name", net->name}, {"file", net->file},
                               {"cniVersion", net->cni_version}};
    info["cni"] = cni.dump();
    std::lock_guard lock(backend_.pod_cidr_mu);
    info["podCIDR"] = backend_.pod_cidr;
  }
  return grpc::Status::OK;
}

}  // namespace crid::server
