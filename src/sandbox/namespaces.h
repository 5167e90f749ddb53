// A pod's network, IPC and UTS namespaces, created once and pinned by bind
// mounts at <runroot>/pods/<id>/ns/{net,ipc,uts}: containers join them by
// path, CNI plugins configure the netns by path, and no process needs to
// stay alive to hold them.
//
// Creation uses util-linux `unshare --net=<pin> --ipc=<pin> --uts=<pin>`:
// it unshares, has a helper bind-mount /proc/<pid>/ns/* onto the pin files,
// and then execs the program we give it inside the new namespaces. That
// program is procps `sysctl -w`, which sets kernel.hostname (the UTS ns) and
// the pod's namespaced sysctls in the same spawn, so every namespace is
// configured by a process that lives in it. The loopback device is brought
// up by a short-lived thread of crid that joins the pinned netns.
//
// PID namespaces are not created here: a pod-wide PID namespace (CRI mode
// POD) needs a long-lived init to hold it, the pod's pause (sandbox/pause.h).
// NODE uses the host's, CONTAINER gives each container its own.
#pragma once

#include <map>
#include <string>

#include "util/result.h"

namespace crid::sandbox {

enum class NamespaceMode { kPod = 0, kContainer = 1, kNode = 2, kTarget = 3 };

struct NamespaceOptions {
  NamespaceMode network = NamespaceMode::kPod;
  NamespaceMode pid = NamespaceMode::kContainer;
  NamespaceMode ipc = NamespaceMode::kPod;
  std::string target_id;
};

// Where a pod's pins live; empty paths mean "the host's namespace".
struct PodNamespaces {
  std::string net;
  std::string ipc;
  std::string uts;
};

// Splits sysctls into the namespace they belong to, refusing names that
// are malformed or not namespaced (they would change the whole node), and
// net.* with a host network / IPC ones with host IPC. Pure.
struct SysctlPlan {
  std::map<std::string, std::string> net;  // set in the pod's netns
  std::map<std::string, std::string> ipc;  // set in the pod's IPC ns
};
Result<SysctlPlan> plan_sysctls(const std::map<std::string, std::string>& sysctls,
                                const NamespaceOptions& ns);

// Creates and pins the namespaces the options ask for under `ns_dir`, sets
// the hostname and applies the sysctls. On failure nothing stays pinned.
Result<PodNamespaces> create_pod_namespaces(const std::string& ns_dir, const NamespaceOptions& ns,
                                            const std::string& hostname,
                                            const SysctlPlan& sysctls);

// True while `pin` holds a namespace (an nsfs bind mount). A runroot on disk
// keeps its pin files over a reboot, but as plain empty files.
bool namespace_pin_holds(const std::string& pin);

// Unmounts and unlinks the pins; missing pins are fine (idempotent).
Status remove_pod_namespaces(const PodNamespaces& pins);

// A program found in the usual system directories ("/usr/sbin/sysctl").
Result<std::string> find_system_program(const std::string& name);

}  // namespace crid::sandbox
