#include "oci/seccomp_localhost.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

#include "util/unique_fd.h"

namespace crid::oci {
namespace {

constexpr size_t kMaxProfileBytes = 4 << 20;

// `ref` relative to `root`, or an error when it names something outside.
Result<std::string> relative_to_root(const std::string& root, const std::string& ref) {
  namespace stdfs = std::filesystem;
  stdfs::path root_path = stdfs::path(root).lexically_normal();
  stdfs::path ref_path = stdfs::path(ref).lexically_normal();
  stdfs::path rel = ref_path.is_absolute() ? ref_path.lexically_relative(root_path) : ref_path;
  std::string s = rel.string();
  if (s.empty() || s == "." || rel.is_absolute() || s == ".." || s.rfind("../", 0) == 0)
    return make_error(ErrorKind::kInvalidArgument,
                      "seccomp profile \"{}\" is not inside the profile root {}", ref, root);
  return s;
}

Result<std::string> read_fd(int fd, const std::string& what) {
  struct stat st{};
  if (fstat(fd, &st) != 0) return sys_error("stat {}", what);
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorKind::kInvalidArgument, "{} is not a regular file", what);
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
    if (data.size() > kMaxProfileBytes)
      return make_error(ErrorKind::kInvalidArgument, "{} exceeds {} bytes", what,
                        kMaxProfileBytes);
  }
}

// Opens `rel` beneath `root` without letting a symlink or ".." leave it.
Result<UniqueFd> open_beneath(const std::string& root, const std::string& rel,
                              const std::string& what) {
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return sys_error("opening seccomp profile root {}", root);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
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
  UniqueFd plain(open(resolved, O_RDONLY | O_CLOEXEC));
  if (!plain.valid()) return sys_error("opening {}", what);
  return plain;
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
  if (auto archs = profile.find("architectures"); archs != profile.end()) {
    if (!archs->is_array()) return bad("\"architectures\" is not an array");
    for (const auto& a : *archs)
      if (!a.is_string()) return bad("\"architectures\" holds a non-string");
  }
  if (auto sys = profile.find("syscalls"); sys != profile.end()) {
    if (!sys->is_array()) return bad("\"syscalls\" is not an array");
    for (const auto& rule : *sys) {
      if (!rule.is_object()) return bad("a \"syscalls\" entry is not an object");
      auto names = rule.find("names");
      if (names == rule.end() || !names->is_array())
        return bad("a \"syscalls\" entry has no \"names\" array");
      auto action = rule.find("action");
      if (action == rule.end() || !action->is_string())
        return bad("a \"syscalls\" entry has no string \"action\"");
    }
  }
  return Ok();
}

Result<nlohmann::json> load_localhost_seccomp_profile(const std::string& root,
                                                      const std::string& localhost_ref) {
  if (root.empty())
    return make_error(ErrorKind::kFailedPrecondition,
                      "seccomp profile \"{}\": no seccomp profile root is configured",
                      localhost_ref);
  CRID_ASSIGN(std::string rel, relative_to_root(root, localhost_ref));
  std::string what = fmt::format("seccomp profile \"{}\"", localhost_ref);
  CRID_ASSIGN(UniqueFd fd, open_beneath(root, rel, what));
  CRID_ASSIGN(std::string text, read_fd(fd.get(), what));
  nlohmann::json profile = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (profile.is_discarded())
    return make_error(ErrorKind::kInvalidArgument, "{} is not valid JSON", what);
  CRID_TRY(validate_seccomp_profile(profile, what));
  return profile;
}

}  // namespace crid::oci
