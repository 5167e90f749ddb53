// The body of a pod's pause process, the same in `crid pause` and in the
// small `crid-pause` program beside crid (see pause.h for why both). Plain
// libc only: crid-pause links nothing else, so it starts in a fraction of a
// millisecond where crid, loading its ~100 shared libraries, takes ~15 ms.
#pragma once

namespace crid::sandbox {

// The environment variable saying how many namespace fds, from fd 3 on,
// the launcher joins before it makes the PID namespace.
inline constexpr const char* kPauseNamespaceFdsEnv = "CRID_PAUSE_NAMESPACE_FDS";

// Runs as the launcher (joins the namespaces handed over, unshares a PID
// namespace, forks its init, prints the init's host pid, exits) or, as PID
// 1, as the init itself. Returns the exit code.
int run_pause_command();

}  // namespace crid::sandbox
