// Looking at processes that are not our children (conmon double-forks away
// from the daemon, container processes live in other pid namespaces) through
// /proc.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace crid::runtime {

// Alive and not a zombie; if `cmdline_must_contain` is non-empty, the
// process's command line must contain it too (guards against pid reuse).
bool process_alive(pid_t pid, const std::string& cmdline_must_contain = "");

// Polls until process_alive() is false or `timeout` passes; true if gone.
bool wait_process_gone(pid_t pid, std::chrono::milliseconds timeout,
                       const std::string& cmdline_must_contain = "");

// `pid` and all its descendants (from /proc/<pid>/stat parent links).
std::vector<pid_t> process_tree(pid_t pid);

// SIGKILLs `pid` and its descendants.
void kill_process_tree(pid_t pid);

}  // namespace crid::runtime
