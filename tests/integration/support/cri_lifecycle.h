// Short-hand CRI calls for tests that drive many pods and containers
// (events, metrics, Stream* paging): a busybox image in a local registry
// shared by the whole test binary, and a client that runs host-network
// pods and containers in them through a CridProcess.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/busybox_image.h"
#include "support/crid_process.h"
#include "support/registry.h"

namespace crid::testing {

// One registry and one busybox image (<registry>/it/lifecycle:latest) per
// test binary, started on first use. error() is "" when usable.
class SharedBusybox {
 public:
  static SharedBusybox& get();
  const std::string& error() const { return error_; }
  const LocalRegistry& registry() const { return registry_; }
  std::string image() const;

 private:
  SharedBusybox();
  LocalRegistry registry_;
  TempDir dir_{"crid-it-busybox"};
  std::string error_;
};

class CriLifecycle {
 public:
  explicit CriLifecycle(CridProcess& crid, std::string image) : crid_(crid), image_(std::move(image)) {}

  // A ready host-network pod; "" (and a test failure) when it fails.
  std::string run_pod(const std::string& name);
  // A created container running `command` in `pod`; "" on failure.
  std::string create(const std::string& pod, const std::string& name, std::vector<std::string> command);
  grpc::Status start(const std::string& id);
  grpc::Status stop(const std::string& id, int64_t timeout_seconds);
  grpc::Status remove(const std::string& id);
  // Removes every pod (and so every container).
  void remove_all_pods();

 private:
  CridProcess& crid_;
  std::string image_;
  std::map<std::string, v1::PodSandboxConfig> pods_;  // pod id -> its config
};

// Sends `request` as is to the HTTP server at `address` and returns the
// whole answer (status line, headers, body); "" with `error` on failure.
std::string http_exchange(const std::string& address, const std::string& request, std::string* error = nullptr);

// The body of GET /metrics at `address` ("127.0.0.1:PORT", "[::1]:PORT" or
// "unix:///path"); "" with `error` set on failure.
std::string scrape_metrics(const std::string& address, std::string* error = nullptr);

// The value of the sample written exactly as `series` (e.g.
// `crid_operations_total{method="Version"}`), or -1 when absent.
double sample_value(const std::string& exposition, const std::string& series);

}  // namespace crid::testing
