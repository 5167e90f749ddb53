// Handing the runtime a host path it cannot be fooled about.
//
// After resolve_host_path() crid holds an O_PATH fd of exactly the object
// it checked. A path given to the runtime would be resolved again, later,
// by runc or crun on the host: a symlink swapped in between would win. So
// crid clones the mount tree of the object itself (open_tree on the fd,
// recursive, so submounts come along) and attaches the clone at a staging
// point of the container's, <runroot>/hostpaths/<id>/<n>: a directory or an
// empty file of crid's own, under crid's runroot, which no container can
// write. Not in the bundle: the runtime owns and removes that, and a
// removal walking into a bind mount of a node dir on the same device would
// empty the node's dir. The spec names the staging point. The clone of a shared mount
// joins its peer group, so rshared / rslave propagation asked for by the
// request still reaches the container. Kernels without open_tree get the
// same clone through mount(2) of /proc/self/fd/<fd>.
//
// Staging points outlive nothing: they are unmounted when the container is
// removed, when its create fails, and at start-up for staging dirs of
// containers that no longer exist.
#pragma once

#include <string>

#include "container/host_path_resolver.h"
#include "util/result.h"

namespace crid::container {

// Mounts `resolved` at <dir>/<index> (creating `dir`, whose parent must
// exist) and returns that path.
Result<std::string> stage_host_path(const ResolvedHostPath& resolved, const std::string& dir,
                                    size_t index);

// Unmounts and removes every staging point in `dir`, then `dir`
// (idempotent). It never removes anything recursively: a staging point
// that is still a mount is an error, never a tree to delete, since behind
// it is the node's own directory.
Status unstage_host_paths(const std::string& dir);

}  // namespace crid::container
