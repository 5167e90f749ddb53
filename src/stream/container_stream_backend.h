// ContainerStreamBackend: the real StreamBackend. Exec runs the runtime's
// `exec` (runtime/exec_process.h) with the client's pipes as stdio or
// relaying the container's pty master; attach talks to the container's conmon
// over its attach socket; port connections are made from a short-lived
// thread that entered the pod's network namespace.
//
// Each call blocks for the whole session on the protocol layer's thread;
// the backend keeps no state between calls, so sessions run in parallel.
#pragma once

#include "container/container_manager.h"
#include "runtime/oci_runtime.h"
#include "sandbox/sandbox_manager.h"
#include "stream/stream_backend.h"

namespace crid::stream {

class ContainerStreamBackend final : public StreamBackend {
 public:
  ContainerStreamBackend(container::ContainerManager& containers, sandbox::SandboxManager& pods,
                         runtime::OciRuntime& runtime);

  Result<int> exec(const ExecRequest& req, StdioFds io) override;
  Status attach(const AttachRequest& req, StdioFds io) override;
  Result<UniqueFd> connect_port(const std::string& pod_id, uint16_t port) override;

 private:
  // The container's record, which must be running.
  Result<container::ContainerRecord> running_container(const std::string& id, const char* what);

  container::ContainerManager& containers_;
  sandbox::SandboxManager& pods_;
  runtime::OciRuntime& runtime_;
};

}  // namespace crid::stream
