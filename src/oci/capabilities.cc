#include "oci/capabilities.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cctype>

namespace crid::oci {
namespace {

// Index = capability number (linux/capability.h).
const char* const kCapabilityNames[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int capability_number(const std::string& name) {
  const auto& names = all_capability_names();
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

void sort_by_number(std::vector<std::string>& caps) {
  std::sort(caps.begin(), caps.end(), [](const std::string& a, const std::string& b) {
    return capability_number(a) < capability_number(b);
  });
  caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
}

bool is_all(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper == "ALL";
}

}  // namespace

const std::vector<std::string>& all_capability_names() {
  static const std::vector<std::string> names(std::begin(kCapabilityNames),
                                              std::end(kCapabilityNames));
  return names;
}

Result<std::string> normalize_capability(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("CAP_", 0) != 0) upper = "CAP_" + upper;
  if (capability_number(upper) < 0)
    return make_error(ErrorKind::kInvalidArgument, "unknown capability \"{}\"", name);
  return upper;
}

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> caps = [] {
    std::vector<std::string> c{"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",
                               "CAP_FOWNER", "CAP_SETGID",       "CAP_SETUID",
                               "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_KILL"};
    sort_by_number(c);
    return c;
  }();
  return caps;
}

std::vector<std::string> read_bounding_set() {
  std::vector<std::string> caps;
  const auto& names = all_capability_names();
  for (size_t i = 0; i < names.size(); ++i) {
    // -1 (EINVAL) means the running kernel does not know this capability.
    if (prctl(PR_CAPBSET_READ, static_cast<unsigned long>(i), 0, 0, 0) == 1)
      caps.push_back(names[i]);
  }
  return caps;
}

Result<std::vector<std::string>> apply_capability_changes(
    const std::vector<std::string>& base, const std::vector<std::string>& all,
    const std::vector<std::string>& add, const std::vector<std::string>& drop) {
  std::vector<std::string> caps = base;
  bool add_all = std::any_of(add.begin(), add.end(), is_all);
  bool drop_all = std::any_of(drop.begin(), drop.end(), is_all);
  if (add_all) caps = all;
  if (drop_all) caps.clear();
  for (const auto& name : add) {
    if (is_all(name)) continue;
    CRID_ASSIGN(std::string cap, normalize_capability(name));
    caps.push_back(cap);
  }
  for (const auto& name : drop) {
    if (is_all(name)) continue;
    CRID_ASSIGN(std::string cap, normalize_capability(name));
    caps.erase(std::remove(caps.begin(), caps.end(), cap), caps.end());
  }
  sort_by_number(caps);
  return caps;
}

}  // namespace crid::oci
