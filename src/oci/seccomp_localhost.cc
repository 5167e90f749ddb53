#include "oci/seccomp_localhost.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "util/unique_fd.h"

namespace crid::oci {
namespace {

// A relative ref, checked lexically: no absolute part, no "..".
Result<std::string> relative_beneath_root(const std::string& root, const std::string& ref) {
  namespace stdfs = std::filesystem;
  stdfs::path rel = stdfs::path(ref).lexically_normal();
  std::string s = rel.string();
  if (s.empty() || s == "." || s == ".." || s.rfind("../", 0) == 0)
    return make_error(ErrorKind::kInvalidArgument,
                      "seccomp profile \"{}\" is not inside the profile root {}", ref, root);
  return s;
}

Result<std::string> read_regular_file(int fd, const std::string& what) {
  struct stat st{};
  if (fstat(fd, &st) != 0) return sys_error("stat {}", what);
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorKind::kInvalidArgument, "{} is not a regular file", what);
  if (static_cast<uint64_t>(st.st_size) > kMaxSeccompProfileBytes)
    return make_error(ErrorKind::kInvalidArgument, "{} is {} bytes, more than the {} allowed", what,
                      st.st_size, kMaxSeccompProfileBytes);
  std::string data;
  char buf[8192];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("reading {}", what);
    }
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
    // The file may grow after fstat.
    if (data.size() > kMaxSeccompProfileBytes)
      return make_error(ErrorKind::kInvalidArgument, "{} exceeds {} bytes", what,
                        kMaxSeccompProfileBytes);
  }
}

// O_NONBLOCK so that a FIFO planted at the path cannot hang CreateContainer
// before the regular-file check.
constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

Result<UniqueFd> open_absolute(const std::string& path, const std::string& what) {
  UniqueFd fd(open(path.c_str(), kOpenFlags));
  if (!fd.valid()) return sys_error("opening {}", what);
  return fd;
}

// Opens `rel` beneath `root` without letting a symlink or ".." leave it.
Result<UniqueFd> open_beneath(const std::string& root, const std::string& rel,
                              const std::string& what) {
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return sys_error("opening seccomp profile root {} for {}", root, what);
  open_how how{};
  how.flags = kOpenFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(syscall(SYS_openat2, root_fd.get(), rel.c_str(), &how, sizeof how)));
  if (fd.valid()) return fd;
  if (errno == EXDEV)
    return make_error(ErrorKind::kInvalidArgument, "{} resolves outside the profile root {}", what,
                      root);
  if (errno != ENOSYS && errno != EPERM) return sys_error("opening {}", what);

  // No openat2: resolve fully and compare prefixes (racy against a
  // concurrent symlink swap, acceptable for an admin-owned directory).
  char resolved_root[PATH_MAX], resolved[PATH_MAX];
  if (!realpath(root.c_str(), resolved_root)) return sys_error("resolving {}", root);
  std::string full = root + "/" + rel;
  if (!realpath(full.c_str(), resolved)) return sys_error("opening {}", what);
  std::string prefix = std::string(resolved_root) + "/";
  if (std::string(resolved).rfind(prefix, 0) != 0)
    return make_error(ErrorKind::kInvalidArgument, "{} resolves outside the profile root {}", what,
                      root);
  return open_absolute(resolved, what);
}

bool known_action(const nlohmann::json& a) {
  static const char* const kActions[] = {
      "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
      "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY"};
  if (!a.is_string()) return false;
  const auto& s = a.get_ref<const std::string&>();
  for (const char* k : kActions)
    if (s == k) return true;
  return false;
}

}  // namespace

Status validate_seccomp_profile(const nlohmann::json& profile, const std::string& source) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kInvalidArgument, "seccomp profile {}: {}", source, why);
  };
  if (!profile.is_object()) return bad("not a JSON object");
  auto da = profile.find("defaultAction");
  if (da == profile.end() || !da->is_string() || da->get<std::string>().empty())
    return bad("missing string \"defaultAction\"");
  if (!known_action(*da)) return bad(fmt::format("unknown defaultAction {}", da->dump()));
  if (auto archs = profile.find("architectures"); archs != profile.end() && !archs->is_null()) {
    if (!archs->is_array()) return bad("\"architectures\" is not an array");
    for (const auto& a : *archs)
      if (!a.is_string() || a.get_ref<const std::string&>().rfind("SCMP_ARCH_", 0) != 0)
        return bad(fmt::format("architecture {} is not a SCMP_ARCH_* name", a.dump()));
  }
  if (auto sys = profile.find("syscalls"); sys != profile.end() && !sys->is_null()) {
    if (!sys->is_array()) return bad("\"syscalls\" is not an array");
    for (const auto& rule : *sys) {
      if (!rule.is_object()) return bad("a \"syscalls\" entry is not an object");
      auto names = rule.find("names");
      if (names == rule.end() || !names->is_array() || names->empty())
        return bad("a \"syscalls\" entry has no \"names\" array");
      for (const auto& n : *names)
        if (!n.is_string() || n.get_ref<const std::string&>().empty())
          return bad(fmt::format("syscall name {} is not a non-empty string", n.dump()));
      auto action = rule.find("action");
      if (action == rule.end() || !action->is_string())
        return bad("a \"syscalls\" entry has no string \"action\"");
      if (!known_action(*action)) return bad(fmt::format("unknown action {}", action->dump()));
    }
  }
  return Ok();
}

Result<nlohmann::json> load_localhost_seccomp_profile(const std::string& root,
                                                      const std::string& localhost_ref) {
  std::string what = fmt::format("seccomp profile \"{}\"", localhost_ref);
  if (localhost_ref.empty() || localhost_ref.find('\0') != std::string::npos)
    return make_error(ErrorKind::kInvalidArgument, "{}: not a usable path", what);
  UniqueFd fd;
  if (localhost_ref.front() == '/') {
    CRID_ASSIGN(fd, open_absolute(localhost_ref, what));
  } else {
    if (root.empty())
      return make_error(ErrorKind::kFailedPrecondition,
                        "{} is relative and no seccomp profile root is configured", what);
    CRID_ASSIGN(std::string rel, relative_beneath_root(root, localhost_ref));
    CRID_ASSIGN(fd, open_beneath(root, rel, what));
  }
  CRID_ASSIGN(std::string text, read_regular_file(fd.get(), what));
  nlohmann::json profile = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (profile.is_discarded())
    return make_error(ErrorKind::kInvalidArgument, "{} is not valid JSON", what);
  CRID_TRY(validate_seccomp_profile(profile, what));
  return profile;
}

}  // namespace crid::oci
