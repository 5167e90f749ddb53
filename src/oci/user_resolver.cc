#include "oci/user_resolver.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "util/unique_fd.h"

namespace crid::oci {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

template <typename F>
void for_each_line(std::string_view content, F&& f) {
  for (std::string_view line : split(content, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    f(line);
  }
}

Result<uint32_t> checked_id(int64_t v, const char* what) {
  if (v < 0 || v > UINT32_MAX)
    return make_error(ErrorKind::kInvalidArgument, "{} {} is out of range", what, v);
  return static_cast<uint32_t>(v);
}

}  // namespace

std::vector<PasswdEntry> parse_passwd(std::string_view content) {
  std::vector<PasswdEntry> out;
  for_each_line(content, [&](std::string_view line) {
    auto f = split(line, ':');
    if (f.size() < 4 || f[0].empty()) return;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) return;
    out.push_back({std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : ""});
  });
  return out;
}

std::vector<GroupEntry> parse_group(std::string_view content) {
  std::vector<GroupEntry> out;
  for_each_line(content, [&](std::string_view line) {
    auto f = split(line, ':');
    if (f.size() < 3 || f[0].empty()) return;
    auto gid = parse_id(f[2]);
    if (!gid) return;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() > 3 && !f[3].empty())
      for (auto m : split(f[3], ','))
        if (!m.empty()) g.members.emplace_back(m);
    out.push_back(std::move(g));
  });
  return out;
}

Result<ResolvedUser> resolve_user(const UserRequest& req, std::string_view passwd_text,
                                  std::string_view group_text) {
  auto passwd = parse_passwd(passwd_text);
  auto groups = parse_group(group_text);
  auto by_name = [&](std::string_view name) -> const PasswdEntry* {
    for (const auto& e : passwd) if (e.name == name) return &e;
    return nullptr;
  };
  auto by_uid = [&](uint32_t uid) -> const PasswdEntry* {
    for (const auto& e : passwd) if (e.uid == uid) return &e;
    return nullptr;
  };

  ResolvedUser out;
  const PasswdEntry* entry = nullptr;
  std::optional<uint32_t> explicit_gid;

  if (req.run_as_user) {
    CRID_ASSIGN(out.uid, checked_id(*req.run_as_user, "run_as_user"));
    entry = by_uid(out.uid);
  } else if (!req.run_as_username.empty()) {
    entry = by_name(req.run_as_username);
    if (!entry)
      return make_error(ErrorKind::kInvalidArgument,
                        "user \"{}\" (run_as_username) not found in the image's /etc/passwd",
                        req.run_as_username);
    out.uid = entry->uid;
  } else if (!req.image_user.empty()) {
    std::string_view spec = req.image_user;
    std::string_view user_part = spec, group_part;
    if (auto colon = spec.find(':'); colon != std::string_view::npos) {
      user_part = spec.substr(0, colon);
      group_part = spec.substr(colon + 1);
    }
    if (auto uid = parse_id(user_part)) {
      out.uid = *uid;
      entry = by_uid(*uid);
    } else {
      entry = by_name(user_part);
      if (!entry)
        return make_error(ErrorKind::kInvalidArgument,
                          "image user \"{}\" not found in the image's /etc/passwd", user_part);
      out.uid = entry->uid;
    }
    if (!group_part.empty()) {
      if (auto gid = parse_id(group_part)) {
        explicit_gid = *gid;
      } else {
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const GroupEntry& g) { return g.name == group_part; });
        if (it == groups.end())
          return make_error(ErrorKind::kInvalidArgument,
                            "image group \"{}\" not found in the image's /etc/group", group_part);
        explicit_gid = it->gid;
      }
    }
  } else {
    entry = by_uid(0);
  }

  if (req.run_as_group) {
    CRID_ASSIGN(explicit_gid, checked_id(*req.run_as_group, "run_as_group"));
  }
  out.gid = explicit_gid ? *explicit_gid : (entry ? entry->gid : 0);

  auto add_gid = [&](uint32_t gid) {
    if (std::find(out.additional_gids.begin(), out.additional_gids.end(), gid) ==
        out.additional_gids.end())
      out.additional_gids.push_back(gid);
  };
  // The primary group is also a group the process is in (as containerd and
  // CRI-O set it): `id` inside shows it, and files group-owned by it stay
  // reachable after setgroups().
  add_gid(out.gid);
  for (int64_t g : req.supplemental_groups) {
    CRID_ASSIGN(uint32_t gid, checked_id(g, "supplemental group"));
    add_gid(gid);
  }
  if (entry) {
    for (const auto& g : groups)
      if (std::find(g.members.begin(), g.members.end(), entry->name) != g.members.end())
        add_gid(g.gid);
  }
  return out;
}

namespace {

// Walks `rel` from `root_fd` one component at a time with O_NOFOLLOW: a
// symlink anywhere is refused rather than followed.
Result<UniqueFd> open_nofollow(int root_fd, const std::string& rootfs, std::string_view rel) {
  UniqueFd dir(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!dir.valid()) return sys_error("dup of {}", rootfs);
  auto parts = split(rel, '/');
  std::vector<std::string> names;
  for (auto p : parts) {
    if (p.empty() || p == ".") continue;
    if (p == "..")
      return make_error(ErrorKind::kInvalidArgument, "path {} leaves the rootfs", rel);
    names.emplace_back(p);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    bool last = i + 1 == names.size();
    int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? 0 : O_DIRECTORY);
    UniqueFd next(openat(dir.get(), names[i].c_str(), flags));
    if (!next.valid()) {
      if (errno == ELOOP || errno == ENOTDIR)
        return make_error(ErrorKind::kFailedPrecondition,
                          "{}/{}: a symlink on the way is not followed", rootfs, rel);
      return sys_error("opening {}/{}", rootfs, rel);
    }
    dir = std::move(next);
  }
  return dir;
}

}  // namespace

Result<std::optional<std::string>> read_open_file(UniqueFd fd, const std::string& rootfs,
                                                  const std::string& rel, size_t max_bytes);

Result<std::optional<std::string>> read_rootfs_file_nofollow(const std::string& rootfs,
                                                             std::string_view rel_path,
                                                             size_t max_bytes) {
  UniqueFd root(open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return sys_error("opening rootfs {}", rootfs);
  std::string rel(rel_path);
  auto walked = open_nofollow(root.get(), rootfs, rel);
  if (!walked) {
    if (walked.error().sys_errno() == ENOENT) return std::optional<std::string>();
    return walked.error();
  }
  return read_open_file(std::move(*walked), rootfs, rel, max_bytes);
}

Result<std::optional<std::string>> read_rootfs_file(const std::string& rootfs,
                                                    std::string_view rel_path,
                                                    size_t max_bytes) {
  UniqueFd root(open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return sys_error("opening rootfs {}", rootfs);

  std::string rel(rel_path);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(syscall(SYS_openat2, root.get(), rel.c_str(), &how, sizeof how)));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    if (errno != ENOSYS && errno != EPERM)  // EPERM: a seccomp filter hides openat2
      return sys_error("opening {} in rootfs {}", rel, rootfs);
    return read_rootfs_file_nofollow(rootfs, rel, max_bytes);
  }
  return read_open_file(std::move(fd), rootfs, rel, max_bytes);
}

Result<std::optional<std::string>> read_open_file(UniqueFd fd, const std::string& rootfs,
                                                  const std::string& rel, size_t max_bytes) {
  struct stat st{};
  if (fstat(fd.get(), &st) != 0) return sys_error("stat {} in rootfs {}", rel, rootfs);
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorKind::kFailedPrecondition, "{} in rootfs {} is not a regular file",
                      rel, rootfs);
  std::string data;
  char buf[8192];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("reading {} in rootfs {}", rel, rootfs);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max_bytes)
      return make_error(ErrorKind::kFailedPrecondition, "{} in rootfs {} exceeds {} bytes", rel,
                        rootfs, max_bytes);
  }
  return std::optional<std::string>(std::move(data));
}

}  // namespace crid::oci
