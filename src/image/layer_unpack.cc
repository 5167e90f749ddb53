#include "image/digest.h"
#include "image/layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "util/unique_fd.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace crid::image {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";  // aufs bookkeeping
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

std::atomic<bool> g_force_fallback{false};

using Components = std::vector<std::string>;

std::string join(const Components& c, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += c[i];
  }
  return out;
}

// Splits a tar path into components: a leading "/" and "." parts are dropped
// (tar paths are relative to the layer root); ".." anywhere is refused rather
// than resolved, since no well-formed layer needs it.
Result<Components> split_entry_path(std::string_view path) {
  Components out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..")
      return make_error(ErrorKind::kInvalidArgument, "path {} contains \"..\"", std::string(path));
    if (!part.empty() && part != ".") out.emplace_back(part);
    i = j + 1;
  }
  return out;
}

int sys_openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  struct open_how how{};
  how.flags = flags;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

bool use_openat2() { return !g_force_fallback.load() && kernel_has_openat2(); }

bool is_root() { return ::geteuid() == 0; }

// Opens the directory made of the first `n` components below `root`, never
// following a symlink; with `create`, missing directories are made (0755,
// tar streams may omit parent entries).
Result<UniqueFd> open_dir_in_root(int root, const Components& comps, size_t n, bool create) {
  if (n == 0) {
    UniqueFd fd(::openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return sys_error("opening layer root");
    return fd;
  }
  if (use_openat2()) {
    std::string rel = join(comps, n);
    UniqueFd fd(sys_openat2(root, rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS));
    if (fd.valid()) return fd;
    if (errno == ELOOP || errno == ENOTDIR)
      return make_error(ErrorKind::kInvalidArgument,
                        "{} is a symlink or not a directory (never followed)", rel);
    if (errno != ENOENT || !create) return sys_error("opening {}", rel);
    // Some component is missing: walk and create below.
  }
  UniqueFd cur(::openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur.valid()) return sys_error("opening layer root");
  for (size_t i = 0; i < n; ++i) {
    const std::string& c = comps[i];
    int fd = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST)
        return sys_error("creating directory {}", join(comps, i + 1));
      fd = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        return make_error(ErrorKind::kInvalidArgument,
                          "{} is a symlink or not a directory (never followed)",
                          join(comps, i + 1));
      return sys_error("opening {}", join(comps, i + 1));
    }
    cur.reset(fd);
  }
  return cur;
}

// rm -rf of `name` inside `dirfd`, never following symlinks.
Status remove_at(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok();
    return sys_error("stat {}", name);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_error("opening {}", name);
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
    if (!dir) {
      ::close(fd);
      return sys_error("listing {}", name);
    }
    std::vector<std::string> children;
    while (auto* de = ::readdir(dir.get())) {
      std::string_view n = de->d_name;
      if (n != "." && n != "..") children.emplace_back(n);
    }
    for (auto& c : children) CRID_TRY(remove_at(::dirfd(dir.get()), c));
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) return sys_error("removing {}", name);
    return Ok();
  }
  if (::unlinkat(dirfd, name.c_str(), 0) != 0) return sys_error("removing {}", name);
  return Ok();
}

// Ownership is kept when we can; an unprivileged unpack (tests, rootless)
// keeps its own ids instead of failing.
Status chown_tolerant(int rc, const char* what) {
  if (rc == 0 || (errno == EPERM && !is_root())) return Ok();
  return sys_error("{}", what);
}

struct Xattr {
  std::string name;
  std::string value;
};

std::vector<Xattr> entry_xattrs(archive_entry* e) {
  std::vector<Xattr> out;
  archive_entry_xattr_reset(e);
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    // A layer must not forge overlayfs' own attributes (opaque, redirect,
    // metacopy): those come only from whiteout entries.
    if (std::string_view(name).starts_with(kOverlayXattrPrefix)) continue;
    out.push_back({name, std::string(static_cast<const char*>(value), size)});
  }
  return out;
}

Status set_xattrs(int fd, const std::vector<Xattr>& xattrs) {
  for (const auto& x : xattrs) {
    if (::fsetxattr(fd, x.name.c_str(), x.value.data(), x.value.size(), 0) == 0) continue;
    if (errno == ENOTSUP || (errno == EPERM && !is_root())) continue;
    return sys_error("setting xattr {}", x.name);
  }
  return Ok();
}

struct Meta {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;
  struct timespec times[2] = {};
  std::vector<Xattr> xattrs;
};

Meta entry_meta(archive_entry* e) {
  Meta m;
  m.uid = static_cast<uid_t>(archive_entry_uid(e));
  m.gid = static_cast<gid_t>(archive_entry_gid(e));
  m.mode = archive_entry_perm(e) & 07777;
  struct timespec mtime{};
  if (archive_entry_mtime_is_set(e)) {
    mtime.tv_sec = archive_entry_mtime(e);
    mtime.tv_nsec = archive_entry_mtime_nsec(e);
  }
  m.times[1] = mtime;
  if (archive_entry_atime_is_set(e)) {
    m.times[0].tv_sec = archive_entry_atime(e);
    m.times[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    m.times[0] = mtime;
  }
  m.xattrs = entry_xattrs(e);
  return m;
}

// chown first (it clears setuid bits), then xattrs (security.capability
// must survive the chown), then the mode, then times.
Status apply_meta_fd(int fd, const Meta& m) {
  CRID_TRY(chown_tolerant(::fchown(fd, m.uid, m.gid), "chown"));
  CRID_TRY(set_xattrs(fd, m.xattrs));
  if (::fchmod(fd, m.mode) != 0) return sys_error("chmod");
  if (::futimens(fd, m.times) != 0) return sys_error("setting times");
  return Ok();
}

// Metadata for nodes that cannot be opened for writing (symlinks, devices,
// fifos): by name in their parent, never following the name.
Status apply_meta_at(int pfd, const std::string& leaf, const Meta& m, bool is_symlink) {
  CRID_TRY(chown_tolerant(::fchownat(pfd, leaf.c_str(), m.uid, m.gid, AT_SYMLINK_NOFOLLOW),
                          "chown"));
  if (!is_symlink && ::fchmodat(pfd, leaf.c_str(), m.mode, 0) != 0) return sys_error("chmod");
  if (::utimensat(pfd, leaf.c_str(), m.times, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error("setting times");
  return Ok();
}

struct DeferredDir {
  Components path;
  Meta meta;
};

// libarchive leaves the error string unset for some failures (e.g. a stream
// that ends early); never hand a null pointer to a formatter.
const char* archive_message(archive* a) {
  const char* msg = ::archive_error_string(a);
  return msg ? msg : "unexpected end of data or unknown format error";
}

// Feeds the outer (decompressing, "raw" format) archive's bytes to the inner
// tar reader, hashing exactly the bytes of the uncompressed stream.
struct HashingSource {
  archive* outer = nullptr;
  EVP_MD_CTX* md = nullptr;
  bool eof = false;
};

la_ssize_t read_uncompressed(archive* inner, void* client, const void** buf) {
  auto* src = static_cast<HashingSource*>(client);
  if (src->eof) return 0;
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int r = archive_read_data_block(src->outer, &block, &size, &offset);
  if (r == ARCHIVE_EOF) {
    src->eof = true;
    return 0;
  }
  if (r < ARCHIVE_WARN) {
    archive_set_error(inner, archive_errno(src->outer), "decompressing: %s",
                      archive_message(src->outer));
    return -1;
  }
  EVP_DigestUpdate(src->md, block, size);
  *buf = block;
  return static_cast<la_ssize_t>(size);
}

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

struct MdFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

class Unpacker {
 public:
  Unpacker(int root, archive* in, const UnpackOptions& opts, UnpackStats& stats)
      : root_(root), in_(in), opts_(opts), stats_(stats) {}

  Status entry(archive_entry* e, const std::string& raw_path) {
    CRID_ASSIGN(Components comps, split_entry_path(raw_path));
    if (comps.empty()) return Ok();  // "./": the layer root itself keeps its own metadata
    std::string leaf = comps.back();

    if (leaf == kOpaqueMarker) return opaque(comps);
    if (leaf.starts_with(kWhiteoutMetaPrefix)) return Ok();
    if (leaf.starts_with(kWhiteoutPrefix)) return whiteout(comps, leaf.substr(kWhiteoutPrefix.size()));

    CRID_ASSIGN(UniqueFd pfd, open_dir_in_root(root_, comps, comps.size() - 1, true));
    if (const char* target = archive_entry_hardlink(e)) return hardlink(pfd.get(), leaf, target);

    mode_t type = archive_entry_filetype(e);
    CRID_TRY(clear_for(pfd.get(), leaf, type));
    Meta meta = entry_meta(e);
    switch (type) {
      case AE_IFREG:
        return regular_file(pfd.get(), leaf, meta, e);
      case AE_IFDIR:
        if (::mkdirat(pfd.get(), leaf.c_str(), 0700) != 0 && errno != EEXIST)
          return sys_error("creating directory");
        // Mode, owner and times after the contents: adding children would
        // bump the mtime, and a read-only mode would block them.
        deferred_.push_back({std::move(comps), std::move(meta)});
        return Ok();
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        // Created as-is: a symlink is data here, the kernel resolves it later
        // inside the container's root, and this unpacker never follows it.
        if (::symlinkat(target ? target : "", pfd.get(), leaf.c_str()) != 0)
          return sys_error("creating symlink");
        return apply_meta_at(pfd.get(), leaf, meta, true);
      }
      case AE_IFCHR:
      case AE_IFBLK: {
        dev_t dev = archive_entry_rdev(e);
        bool whiteout_form = type == AE_IFCHR && dev == 0;
        if (!whiteout_form && !opts_.allow_devices)
          return make_error(ErrorKind::kPermissionDenied,
                            "device node {} {}:{} not allowed in image layers",
                            type == AE_IFCHR ? "c" : "b", major(dev), minor(dev));
        if (::mknodat(pfd.get(), leaf.c_str(), type | meta.mode, dev) != 0)
          return sys_error("creating device node");
        return apply_meta_at(pfd.get(), leaf, meta, false);
      }
      case AE_IFIFO:
        if (::mknodat(pfd.get(), leaf.c_str(), S_IFIFO | meta.mode, 0) != 0)
          return sys_error("creating fifo");
        return apply_meta_at(pfd.get(), leaf, meta, false);
      default:
        return Ok();  // sockets and unknown types carry nothing a container can use
    }
  }

  // Directory metadata last, so child creation does not disturb mtimes.
  // Deepest entries first (a parent's final mode could deny reaching its
  // children); a directory listed twice takes its last entry's metadata.
  Status finish() {
    std::set<std::string> done;
    for (auto it = deferred_.rbegin(); it != deferred_.rend(); ++it) {
      if (!done.insert(join(it->path, it->path.size())).second) continue;
      auto fd = open_dir_in_root(root_, it->path, it->path.size(), false);
      if (!fd) continue;  // replaced by a later entry
      CRID_TRY_CTX(apply_meta_fd(fd->get(), it->meta), "entry {}", join(it->path, it->path.size()));
    }
    return Ok();
  }

 private:
  // Makes room for a new node: an existing directory stays when the new
  // entry is one too (tar semantics: metadata update), anything else goes.
  Status clear_for(int pfd, const std::string& leaf, mode_t type) {
    struct stat st;
    if (::fstatat(pfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Ok();
      return sys_error("stat");
    }
    if (type == AE_IFDIR && S_ISDIR(st.st_mode)) return Ok();
    return remove_at(pfd, leaf);
  }

  Status regular_file(int pfd, const std::string& leaf, const Meta& meta, archive_entry* e) {
    UniqueFd fd(::openat(pfd, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600));
    if (!fd.valid()) return sys_error("creating file");
    for (;;) {
      const void* buf;
      size_t size;
      la_int64_t offset;
      int r = archive_read_data_block(in_, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN)
        return make_error(ErrorKind::kInvalidArgument, "reading data: {}",
                          archive_message(in_));
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {
        ssize_t n = ::pwrite(fd.get(), p, size, offset);
        if (n < 0) {
          if (errno == EINTR) continue;
          return sys_error("writing file");
        }
        p += n;
        offset += n;
        size -= static_cast<size_t>(n);
      }
    }
    // Sparse files may end in a hole.
    if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) != 0)
      return sys_error("truncating file");
    stats_.bytes += archive_entry_size(e);
    return apply_meta_fd(fd.get(), meta);
  }

  Status hardlink(int pfd, const std::string& leaf, const std::string& raw_target) {
    auto tcomps = split_entry_path(raw_target);
    if (!tcomps || tcomps->empty())
      return make_error(ErrorKind::kInvalidArgument, "hardlink target {} is outside the layer",
                        raw_target);
    auto tpfd = open_dir_in_root(root_, *tcomps, tcomps->size() - 1, false);
    if (!tpfd)
      return tpfd.error().wrap(fmt::format("hardlink target {} is not in the layer", raw_target));
    const std::string& tleaf = tcomps->back();
    struct stat st;
    if (::fstatat(tpfd->get(), tleaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return make_error(ErrorKind::kInvalidArgument,
                        "hardlink target {} was not unpacked before the link", raw_target);
    if (S_ISDIR(st.st_mode))
      return make_error(ErrorKind::kInvalidArgument, "hardlink target {} is a directory",
                        raw_target);
    struct stat self;
    if (::fstatat(pfd, leaf.c_str(), &self, AT_SYMLINK_NOFOLLOW) == 0) {
      if (self.st_ino == st.st_ino && self.st_dev == st.st_dev) return Ok();
      CRID_TRY(remove_at(pfd, leaf));
    }
    // linkat without AT_SYMLINK_FOLLOW links a symlink itself, never its target.
    if (::linkat(tpfd->get(), tleaf.c_str(), pfd, leaf.c_str(), 0) != 0)
      return sys_error("linking to {}", raw_target);
    return Ok();
  }

  // OCI image-spec: a whiteout applies only to lower layers; what this same
  // layer put at that name stays. A file here already shadows the lower
  // one; a directory here must also hide the lower one's children, which
  // overlayfs expresses by making it opaque.
  Status whiteout(const Components& comps, const std::string& target) {
    if (target.empty() || target == "." || target == "..")
      return make_error(ErrorKind::kInvalidArgument, "malformed whiteout");
    CRID_ASSIGN(UniqueFd pfd, open_dir_in_root(root_, comps, comps.size() - 1, true));
    struct stat st;
    if (::fstatat(pfd.get(), target.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISDIR(st.st_mode)) return Ok();
      UniqueFd dfd(::openat(pfd.get(), target.c_str(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dfd.valid()) return sys_error("opening {}", target);
      return mark_opaque(dfd.get());
    }
    if (errno != ENOENT) return sys_error("stat {}", target);
    if (::mknodat(pfd.get(), target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
      return sys_error("creating whiteout for {}", target);
    return chown_tolerant(::fchownat(pfd.get(), target.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW),
                          "chown whiteout");
  }

  Status opaque(const Components& comps) {
    CRID_ASSIGN(UniqueFd dfd, open_dir_in_root(root_, comps, comps.size() - 1, true));
    return mark_opaque(dfd.get());
  }

  static Status mark_opaque(int dirfd) {
    if (::fsetxattr(dirfd, "trusted.overlay.opaque", "y", 1, 0) == 0) return Ok();
    // Unprivileged overlay mounts (userxattr) read the user.* namespace.
    if (errno == EPERM && !is_root() && ::fsetxattr(dirfd, "user.overlay.opaque", "y", 1, 0) == 0)
      return Ok();
    return sys_error("marking directory opaque");
  }

  int root_;
  archive* in_;
  const UnpackOptions& opts_;
  UnpackStats& stats_;
  std::vector<DeferredDir> deferred_;
};

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

}  // namespace

bool kernel_has_openat2() {
  static const bool has = [] {
    int fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }();
  return has;
}

void force_openat2_fallback_for_testing(bool force) { g_force_fallback.store(force); }

Result<UnpackStats> unpack_layer(int fd, const std::string& dest_dir, const UnpackOptions& opts) {
  const std::string& layer = opts.layer_digest.empty() ? std::string("(unnamed)") : opts.layer_digest;
  auto fail = [&](const std::string& what) {
    return make_error(ErrorKind::kInvalidArgument, "layer {}: {}", layer, what);
  };

  UniqueFd root(::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return sys_error("layer {}: opening destination {}", layer, dest_dir);

  // Outer reader: undoes the compression (detected from the first bytes) and
  // hands out the tar stream as one "raw" entry.
  ArchivePtr outer(archive_read_new());
  archive_read_support_filter_gzip(outer.get());
  archive_read_support_filter_zstd(outer.get());
  archive_read_support_filter_none(outer.get());
  archive_read_support_format_raw(outer.get());
  if (archive_read_open_fd(outer.get(), fd, 128 * 1024) != ARCHIVE_OK)
    return fail(fmt::format("reading blob: {}", archive_message(outer.get())));
  archive_entry* raw_entry = nullptr;
  if (archive_read_next_header(outer.get(), &raw_entry) != ARCHIVE_OK)
    return fail(fmt::format("reading blob: {}", archive_message(outer.get())));

  std::unique_ptr<EVP_MD_CTX, MdFree> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
    return make_error(ErrorKind::kInternal, "layer {}: SHA-256 unavailable", layer);
  HashingSource src{outer.get(), md.get(), false};

  ArchivePtr inner(archive_read_new());
  archive_read_support_format_tar(inner.get());
  if (archive_read_open(inner.get(), &src, nullptr, read_uncompressed, nullptr) != ARCHIVE_OK)
    return fail(fmt::format("reading tar: {}", archive_message(inner.get())));

  UnpackStats stats;
  Unpacker unpacker(root.get(), inner.get(), opts, stats);
  CancelPoll gave_up(opts.cancelled);
  for (;;) {
    if (gave_up())
      return make_error(ErrorKind::kCancelled, "layer {}: unpacking stopped after {} entries, the pull was given up",
                        layer, stats.entries);
    archive_entry* e = nullptr;
    int r = archive_read_next_header(inner.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(fmt::format("reading tar: {}", archive_message(inner.get())));
    ++stats.entries;
    const char* path = archive_entry_pathname(e);
    if (!path) return fail("entry without a readable path name");
    Status st = unpacker.entry(e, path);
    if (!st) {
      Error err = st.error().wrap(fmt::format("layer {}: entry {}", layer, path));
      return err;
    }
  }
  CRID_TRY_CTX(unpacker.finish(), "layer {}", layer);

  // The digest covers the whole stream, including the tar's trailing zero
  // blocks the tar reader stops before.
  const void* discard;
  while (read_uncompressed(inner.get(), &src, &discard) > 0) {
  }
  if (!src.eof) return fail(fmt::format("reading tar: {}", archive_message(inner.get())));

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md.get(), digest, &len);
  stats.diff_id = "sha256:" + hex(digest, len);
  return stats;
}

}  // namespace crid::image
