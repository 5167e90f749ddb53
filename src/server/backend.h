// What the RPC handlers reach: the live config and the lifecycle services
// below the transport. Handlers translate; the work happens behind these.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "config/config_holder.h"
#include "container/container_manager.h"
#include "image/image_service.h"
#include "runtime/oci_runtime.h"
#include "sandbox/sandbox_manager.h"
#include "store/database.h"
#include "stream/stream_backend.h"
#include "stream/stream_server.h"

namespace crid::server {

struct Backend {
  explicit Backend(ConfigHolder& c) : config(c) {}

  ConfigHolder& config;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();

  // The metadata database (<root>/crid.db), opened first and shared by the
  // services below; declared before them so it outlives them.
  std::unique_ptr<store::Database> db;
  // Pulls, image records and the layer store.
  std::unique_ptr<image::ImageService> images;

  // Pod CIDR from UpdateRuntimeConfig, handed to CNI as runtimeConfig.
  std::mutex pod_cidr_mu;
  std::string pod_cidr;

  // Pod sandboxes (RunPodSandbox ... ListPodSandbox).
  std::unique_ptr<sandbox::SandboxManager> pods;
  // The OCI runtime backend (runc/crun under conmon) and the container
  // lifecycle over it; declared last so they go first.
  std::unique_ptr<runtime::OciRuntime> runtime;
  std::unique_ptr<container::ContainerManager> containers;
  // Exec/attach/port-forward: the container side the streaming protocols
  // drive, and the HTTP server their URLs point to. The server is declared
  // last so it stops (joining its sessions) before the backend goes.
  std::unique_ptr<stream::StreamBackend> stream_backend;
  std::unique_ptr<stream::StreamServer> stream_server;

  std::string current_pod_cidr() {
    std::lock_guard lock(pod_cidr_mu);
    return pod_cidr;
  }
};

}  // namespace crid::server
