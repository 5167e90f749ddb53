// Host device nodes for containers: the small I/O side (stat) kept apart so
// the spec builder stays pure.
#pragma once

#include <string>
#include <vector>

#include "oci/container_request.h"
#include "util/result.h"

namespace crid::oci {

// stat(2)s `host_path` (following symlinks, as /dev/disk/by-id/... are) and
// describes it as it will appear at `container_path`. Not a char or block
// device -> InvalidArgument naming the path; missing -> NotFound.
Result<DeviceNode> resolve_device(const std::string& host_path,
                                  const std::string& container_path);

// Resolves every request device, index for index.
Result<std::vector<DeviceNode>> resolve_request_devices(const std::vector<Device>& devices);

// Every char/block device under `dev_root` (default /dev) for privileged
// containers, skipping /dev/pts, /dev/shm, /dev/mqueue (the container mounts
// its own) and /dev/console (the runtime sets it up); no symlinks followed.
Result<std::vector<DeviceNode>> list_host_devices(const std::string& dev_root = "/dev");

}  // namespace crid::oci
