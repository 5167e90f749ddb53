// Pure parsers of cgroup interface files (v1 and v2), tested on literal
// strings. `what` names the file in errors ("/sys/fs/cgroup/.../memory.stat").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace crid::stats {

// "key value" lines (memory.stat, cpu.stat). Blank lines are fine; a line
// without a number is an error naming the file and the line.
Result<std::map<std::string, uint64_t>> parse_keyed_values(std::string_view text,
                                                           const std::string& what);

// A file holding one number (memory.current, cpuacct.usage, pids.current).
Result<uint64_t> parse_single_value(std::string_view text, const std::string& what);

// A limit: "max" (v2) or a v1 value so large it only says "unlimited"
// (the page counter maximum rounded to pages) is nullopt.
Result<std::optional<uint64_t>> parse_limit(std::string_view text, const std::string& what);

// The cgroupfs path (relative to a hierarchy) of an OCI linux.cgroupsPath:
// "/a/b" as is, the systemd form "slice:prefix:name" as runc lays it out
// ("/kubepods.slice/kubepods-pod1.slice/prefix-name.scope").
std::string cgroup_fs_path(const std::string& cgroups_path);

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "".
std::string systemd_slice_path(const std::string& slice);

}  // namespace crid::stats
