// OCI bundles for integration tests: a rootfs made of the host's static
// busybox and a minimal config.json (new pid/mount/ipc/uts/network
// namespaces, the standard mounts, no seccomp), so tests need no image.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace crid::testing {

struct BundleOptions {
  std::vector<std::string> args{"/bin/sh", "-c", "true"};
  std::vector<std::string> env{"PATH=/bin", "HOME=/"};
  bool tty = false;
  bool pid_namespace = true;            // false: share the host's
  std::string cgroups_path;             // e.g. "/crid-test-<rand>/<id>"
  std::optional<int64_t> memory_limit;  // bytes
  std::string hostname = "crid-test";
};

// Statically linked busybox to copy into rootfs (busybox-static package).
std::string host_busybox();

// Writes <dir>/rootfs (bin/busybox plus applet symlinks) and
// <dir>/config.json. `dir` is created if needed.
Status write_busybox_bundle(const std::string& dir, const BundleOptions& opts);

// Just the config.json text, for tests that tweak it.
std::string busybox_config_json(const BundleOptions& opts);

}  // namespace crid::testing
