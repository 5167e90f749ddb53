// PodSandboxStatus: state, IPs, namespaces and metadata of one pod; verbose
// adds an "info" JSON with the netns path, CNI result and handler.
#include <chrono>

#include <nlohmann/json.hpp>

#include "server/grpc_status.h"
#include "server/pod_sandbox_translate.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::PodSandboxStatus(grpc::ServerContext*,
                                                  const v1::PodSandboxStatusRequest* req,
                                                  v1::PodSandboxStatusResponse* resp) {
  if (req->pod_sandbox_id().empty())
    return invalid_argument("PodSandboxStatus: pod_sandbox_id is empty");
  auto pod = backend_.pods->status(req->pod_sandbox_id());
  if (!pod) return to_grpc(pod.error());
  to_cri(*pod, resp->mutable_status());
  resp->set_timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
  if (req->verbose()) {
    nlohmann::json cni = pod->cni_result.empty()
                             ? nlohmann::json()
                             : nlohmann::json::parse(pod->cni_result, nullptr, false);
    // pid 0: no infra process (only a pod-wide PID namespace needs one; the
    // other namespaces are pinned by path).
    nlohmann::json info = {{"pid", pod->infra.pid},
                           {"netns", pod->ns.net},
                           {"ipcns", pod->ns.ipc},
                           {"utsns", pod->ns.uts},
                           {"cniNetwork", pod->network_name},
                           {"cniResult", cni},
                           {"runtimeHandler", pod->runtime_handler},
                           {"cgroupParent", pod->cgroup_parent},
                           {"shm", backend_.pods->shm_path(*pod)},
                           {"podDir", backend_.pods->pod_dir(pod->id)}};
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

}  // namespace crid::server
