// CRI container messages <-> container:: and oci:: domain types. The only
// place the container RPC files meet protobuf and the lifecycle meets
// neither.
#pragma once

#include <string>

#include "container/container_manager.h"
#include "container/types.h"
#include "runtime/v1/api.pb.h"
#include "util/result.h"

namespace crid::server {

// ContainerConfig (+ the pod's config, for the pod-level security defaults
// the kubelet already folded in) -> the domain request.
Result<container::CreateRequest> to_create_request(const ::runtime::v1::CreateContainerRequest& in);
Result<oci::Resources> to_resources(const ::runtime::v1::LinuxContainerResources& in);
container::ContainerFilter to_container_filter(const ::runtime::v1::ContainerFilter& in);
// CRI Signal enum -> number; 0 for RUNTIME_DEFAULT.
Result<int> to_signal_number(::runtime::v1::Signal s);

void to_cri(const oci::Resources& in, ::runtime::v1::LinuxContainerResources* out);
void to_cri(const container::ContainerRecord& in, ::runtime::v1::Container* out);
void to_cri(const container::ContainerRecord& in, ::runtime::v1::ContainerStatus* out);

}  // namespace crid::server
