// Fuzzes the CRI request validators: the bytes (after a first byte that
// picks the RPC) are parsed as the serialized protobuf the kubelet would
// send, then run through the same translation and validation the server
// runs before any side effect: CreateContainer -> to_create_request -> the
// pure OCI spec builder; RunPodSandbox -> to_pod_config -> plan_pod_run;
// PullImage -> reference resolution. Nothing touches the node.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "config/config.h"
#include "image/reference.h"
#include "oci/spec_builder.h"
#include "runtime/v1/api.pb.h"
#include "sandbox/pod_validation.h"
#include "server/container_translate.h"
#include "server/pod_sandbox_translate.h"

namespace v1 = ::runtime::v1;

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "cri_request_fuzz: %s\n", why.c_str());
  std::abort();
}

// A plausible pod, image and daemon around the fuzzed request, as
// CreateContainer gathers them before build_spec.
crid::oci::SpecInputs surroundings(const crid::oci::ContainerRequest& req) {
  crid::oci::SpecInputs in;
  in.request = req;
  in.sandbox.id = "pod0";
  in.sandbox.name = "pod";
  in.sandbox.namespace_ = "default";
  in.sandbox.network_ns_path = "/run/crid/pods/pod0/ns/net";
  in.sandbox.ipc_ns_path = "/run/crid/pods/pod0/ns/ipc";
  in.sandbox.uts_ns_path = "/run/crid/pods/pod0/ns/uts";
  in.sandbox.cgroup_parent = "/kubepods/pod0";
  in.image.entrypoint = {"/bin/sh"};
  in.image.env = {"PATH=/bin"};
  in.context.rootfs_path = "/var/lib/crid/containers/c0/rootfs";
  in.context.container_id = "c0";
  in.context.runtime_handler = "runc";
  in.context.bounding_set = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"};
  in.passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
  in.group = "root:x:0:\nnogroup:x:65534:nobody\n";
  for (const auto& d : req.devices) in.request_devices.push_back({d.container_path, 'c', 1, 3});
  if (req.security.seccomp && req.security.seccomp->type == crid::oci::SecurityProfile::Type::kLocalhost)
    in.localhost_seccomp_profile = nlohmann::json{{"defaultAction", "SCMP_ACT_ALLOW"}};
  return in;
}

void create_container(const std::string& bytes) {
  v1::CreateContainerRequest req;
  if (!req.ParseFromString(bytes)) return;
  auto cr = crid::server::to_create_request(req);
  if (!cr) return;
  const auto& r = cr->request;
  if (r.name.empty() || r.image_ref.empty()) return;  // ContainerManager::create refuses these
  if (!crid::oci::validate_mount_sources(r, [](const std::string&) { return true; })) return;
  auto spec = crid::oci::build_spec(surroundings(r));
  if (!spec) return;
  // Whatever else the request says, an unprivileged container keeps the
  // isolation it did not ask to lose.
  using Ptr = nlohmann::json::json_pointer;
  const auto& s = *spec;
  const auto none = nlohmann::json::array();
  if (r.security.privileged) return;
  if (r.security.add_capabilities.empty())
    for (const auto& c : s.value(Ptr("/process/capabilities/bounding"), none))
      if (c == "CAP_SYS_ADMIN") fail("CAP_SYS_ADMIN granted without being asked for");
  if (!r.security.masked_paths && s.value(Ptr("/linux/maskedPaths"), none).empty())
    fail("an unprivileged container lost the default masked paths");
  std::set<std::string> ns;
  for (const auto& n : s.value(Ptr("/linux/namespaces"), none))
    if (n.is_object() && n.contains("type") && n["type"].is_string()) ns.insert(n["type"].get<std::string>());
  // The surrounding pod is not host-namespaced: only the request's own
  // NODE modes may share the host's.
  using Mode = crid::oci::NamespaceMode;
  const auto& want = r.security.namespace_options;
  auto need = [&](const char* type, bool host_asked) {
    if (!host_asked && !ns.count(type)) fail(std::string("host ") + type + " namespace not asked for");
  };
  need("network", want.network == Mode::kNode);
  need("uts", want.network == Mode::kNode);
  need("ipc", want.ipc == Mode::kNode);
  need("pid", want.pid == Mode::kNode);
  need("mount", false);
  if (r.security.seccomp && r.security.seccomp->type == crid::oci::SecurityProfile::Type::kRuntimeDefault &&
      !s.contains(Ptr("/linux/seccomp")))
    fail("RuntimeDefault seccomp asked for but the spec has none");
  for (const auto& d : s.value(Ptr("/linux/devices"), none))
    if (!d.is_object() || d.value("path", "").empty()) fail("a device without a path");
  (void)s.dump();
}

void run_pod_sandbox(const std::string& bytes) {
  v1::RunPodSandboxRequest req;
  if (!req.ParseFromString(bytes)) return;
  auto pc = crid::server::to_pod_config(req.config());
  if (!pc) return;
  static const crid::Config cfg = crid::default_config();
  (void)crid::sandbox::plan_pod_run(cfg, *pc, req.runtime_handler());
}

void pull_image(const std::string& bytes) {
  v1::PullImageRequest req;
  if (!req.ParseFromString(bytes)) return;
  const std::string& ref = req.image().image();
  auto resolved = crid::image::resolve_reference(ref, {"docker.io"});
  if (resolved && resolved->empty()) fail("a resolved reference with no candidates");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: create_container(bytes); break;
    case 1: run_pod_sandbox(bytes); break;
    default: pull_image(bytes); break;
  }
  return 0;
}
