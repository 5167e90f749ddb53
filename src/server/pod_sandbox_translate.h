// CRI pod sandbox messages <-> sandbox:: domain types. The only place the
// RPC files of pods meet protobuf and the lifecycle meets neither.
#pragma once

#include "runtime/v1/api.pb.h"
#include "sandbox/types.h"
#include "util/result.h"

namespace crid::server {

Result<sandbox::PodConfig> to_pod_config(const ::runtime::v1::PodSandboxConfig& in);
sandbox::PodFilter to_pod_filter(const ::runtime::v1::PodSandboxFilter& in);

void to_cri(const sandbox::PodMetadata& in, ::runtime::v1::PodSandboxMetadata* out);
void to_cri(const sandbox::Pod& in, ::runtime::v1::PodSandboxStatus* out);
void to_cri(const sandbox::Pod& in, ::runtime::v1::PodSandbox* out);

}  // namespace crid::server
