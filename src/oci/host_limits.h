// Limits the daemon can actually hand to its containers, read from the
// daemon's own process (kept out of the pure spec builder).
#pragma once

#include <cstdint>

namespace crid::oci {

// Whether the daemon holds CAP_SYS_RESOURCE in its effective set: without
// it, no child may get a higher hard rlimit or a lower OOM score than the
// daemon's own.
bool daemon_has_sys_resource();

// RLIMIT_NOFILE to put in specs: `wanted`, or the daemon's own hard limit
// when it is lower and the daemon cannot raise it (the runtime's setrlimit
// would otherwise fail with EPERM and the container would not start).
uint64_t nofile_limit_for_containers(uint64_t wanted = 1048576);

}  // namespace crid::oci
