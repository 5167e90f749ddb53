// The infra ("pause") process of a pod that shares one PID namespace among
// its containers (CRI pid mode POD). Unlike net/ipc/uts, a PID namespace
// cannot be pinned by a bind mount alone: it dies with its init. So crid
// runs a small init of its own there (pause_process.h), inside the pod's
// pinned namespaces, and containers join /proc/<pause pid>/ns/pid.
//
// Launch: crid spawns `crid-pause` (a libc-only program installed beside
// crid; `crid pause` if it is missing) with the pins open on fds 3, 4, ...;
// that launcher joins them, unshares a PID namespace, forks the init (PID 1
// there), prints the init's host pid and exits, so the daemon reaps its own
// child at once and the init, in its own session, outlives any daemon
// restart.
//
// Its command line is `<crid> pause <pod id>` whichever program runs it: a
// daemon killed after starting the pause but before recording its pid finds
// it by that label, even for a pod on the host's network and IPC namespaces
// (no pin to match it by), and pauses of older daemons look the same.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "sandbox/namespaces.h"
#include "sandbox/pause_process.h"
#include "util/result.h"

namespace crid::sandbox {

// A pause process, identified by pid plus its start time (clock ticks since
// boot) so a recycled pid is never mistaken for it.
struct InfraProcess {
  pid_t pid = 0;
  uint64_t start_time = 0;
  bool empty() const { return pid <= 0; }
};

// Records /proc/self/exe; call once at start-up, before anything can
// replace the binary on disk.
void remember_self_exe();
const std::string& self_exe();

// What runs a pause: crid-pause beside crid's own binary, else crid.
std::string pause_program();

// Starts the pause of pod `pod_id` inside the pinned namespaces.
Result<InfraProcess> start_pause(const PodNamespaces& pins, const std::string& pod_id,
                                 const std::string& what);

// True while that very process runs (not a zombie, not a reused pid).
bool pause_alive(const InfraProcess& p);

// SIGKILLs the pause (the kernel then kills everything in its PID
// namespace) and waits until it is gone. A pause already gone is fine.
Status kill_pause(const InfraProcess& p, const std::string& what);

// Pauses living in any of the pinned namespaces `pins` (compared by nsfs
// inode): how start-up finds the pause of a RunPodSandbox killed before it
// wrote infra.pid. Kills them as kill_pause does.
Status kill_pauses_in(const PodNamespaces& pins, const std::string& what);

// Pauses labelled with `pod_id` (see above); kills them as kill_pause does.
Status kill_pauses_of_pod(const std::string& pod_id, const std::string& what);

// "<pid> <start time>" files: <runroot>/pods/<id>/infra.pid.
Status write_infra_file(const std::string& path, const InfraProcess& p);
InfraProcess read_infra_file(const std::string& path);

}  // namespace crid::sandbox
