// crid's built-in seccomp profile for RuntimeDefault: deny by default
// (EPERM), allow the syscalls ordinary programs use, and open the
// privileged ones (mount, unshare, reboot, ptrace ...) only to containers
// that hold the matching capability, in the spirit of the profile Docker,
// containerd and CRI-O share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace crid::oci {

// uname(2) machine of the build ("x86_64", "aarch64").
std::string_view host_machine();

// The OCI `linux.seccomp` object for a container whose capability set is
// `caps` ("CAP_SYS_ADMIN" ...). `machine` picks the architectures: x86_64
// covers x86_64, x86 and x32; aarch64 covers aarch64 and arm.
nlohmann::json default_seccomp_profile(const std::vector<std::string>& caps,
                                       std::string_view machine = host_machine());

}  // namespace crid::oci
