#include "sandbox/namespaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/unique_fd.h"

namespace crid::sandbox {

namespace {

bool valid_sysctl_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  char prev = '.';
  for (char c : name) {
    bool sep = c == '.' || c == '/';
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || sep;
    if (!ok || (sep && (prev == '.' || prev == '/'))) return false;
    prev = c;
  }
  return prev != '.' && prev != '/';
}

bool valid_sysctl_value(const std::string& v) {
  return !v.empty() && v.size() <= 4096 &&
         std::none_of(v.begin(), v.end(), [](char c) { return c == '\n' || c == '\0'; });
}

// The namespace a sysctl lives in, after the kernel's namespacing:
// "net" (netns), "ipc" (IPC ns) or "" (node-wide: never per pod).
std::string owning_namespace(std::string name) {
  std::replace(name.begin(), name.end(), '/', '.');
  if (name.starts_with("net.")) return "net";
  static const char* kIpc[] = {"kernel.shmmax", "kernel.shmall", "kernel.shmmni",
                               "kernel.shm_rmid_forced", "kernel.msgmax", "kernel.msgmnb",
                               "kernel.msgmni", "kernel.sem"};
  for (auto* k : kIpc)
    if (name == k) return "ipc";
  if (name.starts_with("fs.mqueue.")) return "ipc";
  return "";
}

bool valid_hostname(const std::string& h) {
  if (h.size() > 64) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

Status create_pin_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444);
  if (fd < 0) return sys_error("creating namespace pin {}", path);
  ::close(fd);
  return Ok();
}

void unpin(const std::string& path) {
  if (path.empty()) return;
  ::umount2(path.c_str(), MNT_DETACH);
  ::unlink(path.c_str());
}

Status run_helper(const std::vector<std::string>& argv, const std::string& what) {
  SpawnOptions opts;
  opts.argv = argv;
  opts.timeout = std::chrono::seconds(30);
  CRID_ASSIGN(ProcessOutput out, run_process(opts));
  if (out.success()) return Ok();
  // sysctl refusing a key or value the pod asked for is the request's fault
  // ("sysctl: cannot stat /proc/sys/net/ipv4/no_such_knob").
  ErrorKind kind = out.exit_code > 0 && out.err.find("sysctl: ") != std::string::npos
                       ? ErrorKind::kInvalidArgument
                       : ErrorKind::kInternal;
  return Error(kind, fmt::format("{}: {} {}", what, argv[0], out.describe()));
}

// Sets lo up in the pinned network namespace: from a thread of our own that
// joins it (a thread's network namespace is its own, and the thread ends
// with it), on a socket made there, so no nsenter and ip to exec per pod.
Status bring_loopback_up(const std::string& netns_pin) {
  UniqueFd ns(::open(netns_pin.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return sys_error("opening network namespace pin {}", netns_pin);
  Status result = make_error(ErrorKind::kInternal, "bringing up loopback in {}: thread did not run",
                             netns_pin);
  std::thread worker([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = sys_error("joining network namespace {}", netns_pin);
      return;
    }
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) {
      result = sys_error("making a socket in network namespace {}", netns_pin);
      return;
    }
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) {
      result = sys_error("reading the flags of lo in {}", netns_pin);
      return;
    }
    req.ifr_flags |= IFF_UP;
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) {
      result = sys_error("bringing up lo in {}", netns_pin);
      return;
    }
    result = Ok();
  });
  worker.join();
  return result;
}

}  // namespace

bool namespace_pin_holds(const std::string& pin) {
  struct statfs fs_info {};
  return ::statfs(pin.c_str(), &fs_info) == 0 && fs_info.f_type == NSFS_MAGIC;
}

Result<std::string> find_system_program(const std::string& name) {
  for (const char* dir :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return make_error(ErrorKind::kFailedPrecondition, "{} is not installed (looked in /usr/sbin, "
                    "/usr/bin, /sbin, /bin and /usr/local)", name);
}

Result<SysctlPlan> plan_sysctls(const std::map<std::string, std::string>& sysctls,
                                const NamespaceOptions& ns) {
  SysctlPlan plan;
  for (auto& [name, value] : sysctls) {
    if (!valid_sysctl_name(name))
      return make_error(ErrorKind::kInvalidArgument, "sysctl \"{}\": malformed name", name);
    if (!valid_sysctl_value(value))
      return make_error(ErrorKind::kInvalidArgument, "sysctl {}: malformed value \"{}\"", name,
                        value);
    std::string owner = owning_namespace(name);
    if (owner.empty())
      return make_error(ErrorKind::kInvalidArgument,
                        "sysctl {} is not namespaced: setting it for a pod would change the "
                        "whole node", name);
    if (owner == "net" && ns.network == NamespaceMode::kNode)
      return make_error(ErrorKind::kInvalidArgument,
                        "sysctl {} cannot be set for a pod in the host network namespace", name);
    if (owner == "ipc" && ns.ipc == NamespaceMode::kNode)
      return make_error(ErrorKind::kInvalidArgument,
                        "sysctl {} cannot be set for a pod in the host IPC namespace", name);
    (owner == "net" ? plan.net : plan.ipc)[name] = value;
  }
  return plan;
}

Result<PodNamespaces> create_pod_namespaces(const std::string& ns_dir, const NamespaceOptions& ns,
                                            const std::string& hostname,
                                            const SysctlPlan& sysctls) {
  if (!valid_hostname(hostname))
    return make_error(ErrorKind::kInvalidArgument, "hostname \"{}\" is not a valid host name",
                      hostname);
  PodNamespaces pins;
  bool own_net = ns.network != NamespaceMode::kNode;
  bool own_ipc = ns.ipc != NamespaceMode::kNode;
  // A pod on the host network also keeps the host's UTS namespace (Kubernetes
  // gives hostNetwork pods the node's hostname).
  bool own_uts = own_net;
  if (!own_net && !own_ipc) return pins;

  CRID_TRY_CTX(fs::make_dirs(ns_dir, 0700), "creating namespace dir {}", ns_dir);
  Cleanup undo;
  std::vector<std::string> argv;
  CRID_ASSIGN(std::string unshare, find_system_program("unshare"));
  argv.push_back(unshare);
  auto add_pin = [&](std::string& pin, const char* kind) -> Status {
    pin = ns_dir + "/" + kind;
    CRID_TRY(create_pin_file(pin));
    undo.add(std::string("unpin ") + kind, [p = pin] { unpin(p); });
    argv.push_back(fmt::format("--{}={}", kind, pin));
    return Ok();
  };
  if (own_net) CRID_TRY(add_pin(pins.net, "net"));
  if (own_ipc) CRID_TRY(add_pin(pins.ipc, "ipc"));
  if (own_uts) CRID_TRY(add_pin(pins.uts, "uts"));

  // The program unshare runs is already inside the new namespaces: one
  // sysctl call sets the hostname (UTS) and every namespaced sysctl.
  std::vector<std::string> settings;
  if (own_uts && !hostname.empty()) settings.push_back("kernel.hostname=" + hostname);
  for (auto& [k, v] : sysctls.net) settings.push_back(k + "=" + v);
  for (auto& [k, v] : sysctls.ipc) settings.push_back(k + "=" + v);
  if (settings.empty()) {
    CRID_ASSIGN(std::string prog, find_system_program("true"));
    argv.push_back(prog);
  } else {
    CRID_ASSIGN(std::string prog, find_system_program("sysctl"));
    argv.push_back(prog);
    argv.push_back("-w");
    argv.insert(argv.end(), settings.begin(), settings.end());
  }
  CRID_TRY(run_helper(argv, settings.empty()
                                ? std::string("creating pod namespaces")
                                : fmt::format("creating pod namespaces and setting {}",
                                              fmt::join(settings, ", "))));

  if (own_net) CRID_TRY(bring_loopback_up(pins.net));
  undo.dismiss();
  return pins;
}

Status remove_pod_namespaces(const PodNamespaces& pins) {
  for (const std::string* p : {&pins.net, &pins.ipc, &pins.uts}) {
    if (p->empty()) continue;
    if (::umount2(p->c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return sys_error("unmounting namespace pin {}", *p);
    if (::unlink(p->c_str()) != 0 && errno != ENOENT)
      return sys_error("removing namespace pin {}", *p);
  }
  return Ok();
}

}  // namespace crid::sandbox
