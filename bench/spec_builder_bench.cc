// Cost of turning a CreateContainer request into config.json, against the
// cost of serializing the result (which the caller pays anyway to write the
// bundle): the ratio says whether spec generation matters next to I/O.
#include <benchmark/benchmark.h>

#include "oci/capabilities.h"
#include "oci/seccomp_default.h"
#include "oci/spec_builder.h"
#include "oci/user_resolver.h"

namespace {

using namespace crid::oci;

SpecInputs typical_inputs() {
  SpecInputs in;
  in.request.name = "web";
  in.request.image_ref = "docker.io/library/nginx:1.25";
  in.request.args = {"-g", "daemon off;"};
  for (int i = 0; i < 20; ++i) in.request.envs.emplace_back("VAR_" + std::to_string(i), "value");
  for (int i = 0; i < 5; ++i)
    in.request.mounts.push_back({.container_path = "/data/vol" + std::to_string(i),
                                 .host_path = "/var/lib/kubelet/pods/x/volumes/" +
                                              std::to_string(i),
                                 .readonly = i % 2 == 0});
  in.request.annotations = {{"io.kubernetes.container.hash", "abcd"},
                            {"io.kubernetes.container.restartCount", "0"}};
  in.request.resources.cpu_shares = 256;
  in.request.resources.cpu_quota = 50000;
  in.request.resources.cpu_period = 100000;
  in.request.resources.memory_limit_in_bytes = 128 << 20;
  in.request.security.seccomp = SecurityProfile{SecurityProfile::Type::kRuntimeDefault, ""};
  in.request.security.drop_capabilities = {"NET_RAW"};
  in.sandbox = {.id = "pod", .name = "web-pod", .namespace_ = "default", .uid = "u",
                .hostname = "web-pod", .network_ns_path = "/run/crid/pods/p/ns/net",
                .ipc_ns_path = "/run/crid/pods/p/ns/ipc", .uts_ns_path = "/run/crid/pods/p/ns/uts",
                .hosts_path = "/run/crid/pods/p/hosts",
                .resolv_conf_path = "/run/crid/pods/p/resolv.conf",
                .hostname_path = "/run/crid/pods/p/hostname", .shm_path = "/run/crid/pods/p/shm",
                .cgroup_parent = "/kubepods/burstable/podu"};
  in.image.entrypoint = {"/docker-entrypoint.sh", "nginx"};
  in.image.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                  "NGINX_VERSION=1.25.3"};
  in.image.user = "nginx";
  in.context.rootfs_path = "/var/lib/crid/containers/c/rootfs";
  in.context.container_id = "c";
  in.context.bounding_set = all_capability_names();
  in.passwd = "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/nonexistent:/bin/false\n";
  in.group = "root:x:0:\nnginx:x:101:\n";
  return in;
}

void BM_BuildSpec(benchmark::State& state) {
  SpecInputs in = typical_inputs();
  for (auto _ : state) {
    auto spec = build_spec(in);
    benchmark::DoNotOptimize(spec);
  }
}
BENCHMARK(BM_BuildSpec);

void BM_SerializeSpec(benchmark::State& state) {
  auto spec = build_spec(typical_inputs());
  for (auto _ : state) {
    std::string text = spec->dump();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_SerializeSpec);

void BM_DefaultSeccompProfile(benchmark::State& state) {
  for (auto _ : state) {
    auto profile = default_seccomp_profile(default_capabilities());
    benchmark::DoNotOptimize(profile);
  }
}
BENCHMARK(BM_DefaultSeccompProfile);

void BM_ResolveUser(benchmark::State& state) {
  std::string passwd, group;
  for (int i = 0; i < 50; ++i) {
    passwd += "user" + std::to_string(i) + ":x:" + std::to_string(1000 + i) + ":100::/:/bin/sh\n";
    group += "group" + std::to_string(i) + ":x:" + std::to_string(2000 + i) + ":user49\n";
  }
  UserRequest req{.image_user = "user49"};
  for (auto _ : state) {
    auto user = resolve_user(req, passwd, group);
    benchmark::DoNotOptimize(user);
  }
}
BENCHMARK(BM_ResolveUser);

}  // namespace
