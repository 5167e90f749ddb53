// Filesystem helpers shared by every component.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/result.h"

namespace crid::fs {

// mkdir -p with `mode` for the directories it creates.
Status make_dirs(const std::string& path, mode_t mode = 0755);

// Writes `data` to a temporary file beside `path`, fsyncs it and renames it
// into place, so readers see the old content or the new, never half.
Status write_file_atomic(const std::string& path, std::string_view data,
                         mode_t mode = 0644);

// The same without the fsync: readers and a daemon killed at any instant
// still see the old content or the new (the rename is atomic and the kernel
// keeps what was written), but a power loss may leave either, or an empty
// file. For files under the runroot, which describe live kernel state a
// reboot ends anyway (and which is a tmpfs, where fsync does nothing, on
// most nodes).
Status write_file_replace(const std::string& path, std::string_view data,
                          mode_t mode = 0644);

Result<std::string> read_file(const std::string& path, size_t max_bytes = 64 << 20);

// rm -rf that does not cross mount points (a leftover mount under a dir
// being removed must never take host files with it).
Status remove_all(const std::string& path);

bool exists(const std::string& path);

// Joins `rel` under `root` refusing anything that would leave it ("..",
// absolute components are taken as relative). Purely lexical.
Result<std::string> join_within(const std::string& root, std::string_view rel);

}  // namespace crid::fs
