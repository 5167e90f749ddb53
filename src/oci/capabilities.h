// Linux capability names and the sets containers start from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace crid::oci {

// Every capability the kernel headers crid knows define, "CAP_CHOWN" ...,
// in number order.
const std::vector<std::string>& all_capability_names();

// "chown", "CHOWN" or "CAP_CHOWN" -> "CAP_CHOWN"; unknown -> InvalidArgument.
Result<std::string> normalize_capability(std::string_view name);

// The capabilities an unprivileged container gets: CRI-O's default list
// (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, SETGID, SETUID, SETPCAP,
// NET_BIND_SERVICE, KILL). It is narrower than containerd's (which adds
// MKNOD, NET_RAW, SETFCAP, SYS_CHROOT, AUDIT_WRITE); the kubelet and pod specs
// add what a workload needs, so crid starts from the smaller set.
const std::vector<std::string>& default_capabilities();

// The daemon's own bounding set, read with prctl(PR_CAPBSET_READ): a
// privileged container gets what the daemon itself may hold, no more.
std::vector<std::string> read_bounding_set();

// Applies CRI add/drop lists to `base` the way containerd does: "ALL" in add
// first takes the whole `all` set, "ALL" in drop then empties it, then the
// named adds and the named drops apply in that order. Result sorted by
// capability number.
Result<std::vector<std::string>> apply_capability_changes(
    const std::vector<std::string>& base, const std::vector<std::string>& all,
    const std::vector<std::string>& add, const std::vector<std::string>& drop);

}  // namespace crid::oci
