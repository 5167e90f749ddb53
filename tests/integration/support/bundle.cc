#include "support/bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/fs.h"

namespace crid::testing {

using json = nlohmann::json;

namespace {

constexpr const char* kApplets[] = {"sh",   "echo", "cat",   "sleep", "id",    "yes",  "head",
                                    "dd",   "ls",   "mkdir", "true",  "false", "tail", "printf",
                                    "kill", "ps",   "stty",  "env",   "pwd",   "grep"};

const char* kCaps[] = {"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
                       "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
                       "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                       "CAP_KILL",    "CAP_AUDIT_WRITE"};

json mount(const std::string& dest, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return json{{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

}  // namespace

std::string host_busybox() {
  for (const char* p : {"/bin/busybox", "/usr/bin/busybox"})
    if (::access(p, X_OK) == 0) return p;
  return "/bin/busybox";
}

std::string busybox_config_json(const BundleOptions& o) {
  json caps = json::array();
  for (const char* c : kCaps) caps.push_back(c);
  json process{
      {"terminal", o.tty},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", o.args},
      {"env", o.env},
      {"cwd", "/"},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true}};
  if (o.tty) process["consoleSize"] = {{"height", 24}, {"width", 80}};

  json resources{{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  if (o.memory_limit) resources["memory"] = {{"limit", *o.memory_limit}, {"swap", *o.memory_limit}};

  json namespaces = json::array(
      {{{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (o.pid_namespace) namespaces.push_back({{"type", "pid"}});
  json linux{{"namespaces", namespaces},
             {"resources", resources},
             {"maskedPaths", {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"}},
             {"readonlyPaths",
              {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}};
  if (!o.cgroups_path.empty()) linux["cgroupsPath"] = o.cgroups_path;

  json spec{{"ociVersion", "1.0.2"},
            {"process", process},
            {"root", {{"path", "rootfs"}, {"readonly", false}}},
            {"hostname", o.hostname},
            {"mounts",
             json::array({mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
                          mount("/dev", "tmpfs", "tmpfs",
                                {"nosuid", "strictatime", "mode=755", "size=65536k"}),
                          mount("/dev/pts", "devpts", "devpts",
                                {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
                          mount("/dev/shm", "tmpfs", "shm",
                                {"nosuid", "noexec", "nodev", "mode=1777", "size=256m"}),
                          mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"})})},
            {"linux", linux}};
  return spec.dump(2);
}

Status write_busybox_bundle(const std::string& dir, const BundleOptions& opts) {
  std::string bin = dir + "/rootfs/bin";
  CRID_TRY(fs::make_dirs(bin));
  for (const char* d : {"proc", "dev", "sys", "tmp"}) CRID_TRY(fs::make_dirs(dir + "/rootfs/" + d));
  CRID_ASSIGN(std::string busybox, fs::read_file(host_busybox(), 64 << 20));
  CRID_TRY(fs::write_file_atomic(bin + "/busybox", busybox, 0755));
  for (const char* applet : kApplets) {
    std::string link = bin + "/" + applet;
    if (::symlink("busybox", link.c_str()) != 0 && errno != EEXIST)
      return sys_error("symlinking {}", link);
  }
  return fs::write_file_atomic(dir + "/config.json", busybox_config_json(opts));
}

}  // namespace crid::testing
