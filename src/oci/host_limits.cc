#include "oci/host_limits.h"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace crid::oci {

bool daemon_has_sys_resource() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32))) != 0;
}

uint64_t nofile_limit_for_containers(uint64_t wanted) {
  if (daemon_has_sys_resource()) return wanted;
  rlimit current{};
  if (getrlimit(RLIMIT_NOFILE, &current) != 0) return wanted;
  if (current.rlim_max != RLIM_INFINITY && current.rlim_max < wanted) return current.rlim_max;
  return wanted;
}

}  // namespace crid::oci
