#include "cli/status_command.h"

#include <cstdio>

#include <fmt/core.h>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "runtime/v1/api.grpc.pb.h"

namespace crid::cli {

namespace v1 = ::runtime::v1;

namespace {

grpc::ClientContext* with_deadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return &ctx;
}

// Flattens {"a": {"b": 1}} to rows "a.b  1" for the human table.
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& rows) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, rows);
    return;
  }
  rows.emplace_back(prefix, j.is_string() ? j.get<std::string>() : j.dump());
}

}  // namespace

int run_status_command(const std::string& socket_path, bool json) {
  std::string target = "unix://" + socket_path;
  auto stub = v1::RuntimeService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));

  v1::VersionResponse version;
  v1::StatusRequest status_req;
  status_req.set_verbose(true);
  v1::StatusResponse status;
  v1::RuntimeConfigResponse rcfg;
  grpc::ClientContext c1, c2, c3;
  grpc::Status s = stub->Version(with_deadline(c1), v1::VersionRequest(), &version);
  if (s.ok()) s = stub->Status(with_deadline(c2), status_req, &status);
  if (s.ok()) s = stub->RuntimeConfig(with_deadline(c3), v1::RuntimeConfigRequest(), &rcfg);
  if (!s.ok()) {
    fmt::print(stderr, "crid: cannot reach crid at {}: {}\n", target, s.error_message());
    return 1;
  }

  std::string driver = rcfg.linux().cgroup_driver() == v1::SYSTEMD ? "systemd" : "cgroupfs";
  nlohmann::json config = nlohmann::json::object();
  if (auto it = status.info().find("config"); it != status.info().end())
    config = nlohmann::json::parse(it->second, nullptr, false);

  if (json) {
    nlohmann::json out;
    out["runtime_name"] = version.runtime_name();
    out["runtime_version"] = version.runtime_version();
    out["runtime_api_version"] = version.runtime_api_version();
    out["cgroup_driver"] = driver;
    for (auto& c : status.status().conditions())
      out["conditions"].push_back(
          {{"type", c.type()}, {"status", c.status()}, {"reason", c.reason()},
           {"message", c.message()}});
    for (auto& h : status.runtime_handlers()) out["runtime_handlers"].push_back(h.name());
    for (auto& [k, v] : status.info()) {
      auto parsed = nlohmann::json::parse(v, nullptr, false);
      out["info"][k] = parsed.is_discarded() ? nlohmann::json(v) : parsed;
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }

  fmt::print("{} {} (CRI {}) on {}\n\n", version.runtime_name(), version.runtime_version(),
             version.runtime_api_version(), socket_path);
  fmt::print("{:<16} {:<6} {}\n", "CONDITION", "STATUS", "REASON");
  for (auto& c : status.status().conditions())
    fmt::print("{:<16} {:<6} {}\n", c.type(), c.status() ? "true" : "false",
               c.status() ? "" : c.reason() + ": " + c.message());
  fmt::print("\ncgroup driver: {}\n", driver);
  std::vector<std::pair<std::string, std::string>> rows;
  flatten(config, "", rows);
  size_t width = 0;
  for (auto& r : rows) width = std::max(width, r.first.size());
  fmt::print("\n{:<{}}  {}\n", "CONFIG", width, "VALUE");
  for (auto& [k, v] : rows) fmt::print("{:<{}}  {}\n", k, width, v);
  return 0;
}

}  // namespace crid::cli
