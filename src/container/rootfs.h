// A container's root filesystem: an overlay of the image's layers (read
// only, from the layer store) under a per-container upper and work dir,
// plus empty directories for the image's VOLUMEs.
//
// Everything lives under <root>/containers/<id>/: upper/, work/, merged/
// (the mount point) and volumes/<n>/. The mount point sits beside its
// upper dir rather than in the runroot bundle so the whole container's
// storage is one directory to remove, and the runtime's bundle removal
// never meets a mount point.
#pragma once

#include <string>
#include <vector>

#include "oci/container_request.h"
#include "util/result.h"

namespace crid::container {

struct RootfsPaths {
  std::string dir;  // <root>/containers/<id>
  std::string upper() const { return dir + "/upper"; }
  std::string work() const { return dir + "/work"; }
  std::string merged() const { return dir + "/merged"; }
  std::string volumes() const { return dir + "/volumes"; }
};

// Creates the dirs and mounts the overlay at merged(). `lower_dirs` is top
// layer first. The mount is made with the new mount API, one lower layer
// per fsconfig call, so deep images are not limited by the one-page option
// string of mount(2); kernels without it get mount(2), with paths relative
// to the layers' common parent when the absolute ones do not fit.
Status mount_rootfs(const RootfsPaths& paths, const std::vector<std::string>& lower_dirs);

// Unmounts merged() if mounted (idempotent).
Status unmount_rootfs(const RootfsPaths& paths);

// Unmounts and removes the whole container dir (idempotent).
Status remove_rootfs(const RootfsPaths& paths);

// An empty dir per image VOLUME under volumes(), for the spec to bind-mount.
Result<std::vector<oci::ImageVolume>> make_image_volumes(const RootfsPaths& paths,
                                                         const std::vector<std::string>& volumes);

// The overlay mount options of mount(2) for these dirs (exposed for tests).
std::string overlay_options(const std::vector<std::string>& lower_dirs, const std::string& upper,
                            const std::string& work);

// True when `path` is a mount point according to /proc/self/mountinfo.
bool is_mount_point(const std::string& path);

}  // namespace crid::container
