// Test helper: builds layer tarballs with libarchive's writer, so unpacker
// tests describe their input entry by entry (including hostile ones no
// well-behaved tool would produce).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace crid::image::testing {

struct TarEntry {
  std::string path;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;      // regular files
  std::string symlink;   // symlink target
  std::string hardlink;  // hardlink target (type ignored)
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1600000000;
  dev_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

inline TarEntry file(std::string path, std::string data, mode_t perm = 0644) {
  TarEntry e;
  e.path = std::move(path);
  e.data = std::move(data);
  e.perm = perm;
  return e;
}
inline TarEntry dir(std::string path, mode_t perm = 0755) {
  TarEntry e;
  e.path = std::move(path);
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}
inline TarEntry symlink(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.type = AE_IFLNK;
  e.perm = 0777;
  e.symlink = std::move(target);
  return e;
}
inline TarEntry hardlink(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.hardlink = std::move(target);
  return e;
}

enum class Compression { kNone, kGzip, kZstd };

inline void check(int r, archive* a, const char* what) {
  if (r < ARCHIVE_WARN)
    throw std::runtime_error(std::string(what) + ": " + (archive_error_string(a) ? archive_error_string(a) : "?"));
}

// Writer output appended to a string (no size limit, unlike open_memory).
// Tar output keeps libarchive's default padding to a 10 KiB record (the
// digest must cover it); compressed output is never padded.
inline int open_string(archive* a, std::string* out, bool pad = true) {
  if (!pad) archive_write_set_bytes_in_last_block(a, 1);
  return archive_write_open(
      a, out, nullptr,
      [](archive*, void* client, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
}

// The uncompressed tar stream of `entries` (pax format, so xattrs fit).
inline std::string build_tar(const std::vector<TarEntry>& entries) {
  archive* a = archive_write_new();
  check(archive_write_set_format_pax_restricted(a), a, "format");
  std::string out;
  check(open_string(a, &out), a, "open");
  for (const auto& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, 0);
    archive_entry_set_perm(e, t.perm);
    if (!t.hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, t.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, t.type);
      if (t.type == AE_IFLNK) archive_entry_set_symlink(e, t.symlink.c_str());
      if (t.type == AE_IFCHR || t.type == AE_IFBLK) archive_entry_set_rdev(e, t.rdev);
      archive_entry_set_size(e, t.type == AE_IFREG ? static_cast<int64_t>(t.data.size()) : 0);
    }
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    check(archive_write_header(a, e), a, "header");
    if (t.type == AE_IFREG && t.hardlink.empty() && !t.data.empty())
      archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  check(archive_write_close(a), a, "close");
  archive_write_free(a);
  return out;
}

// Compresses a byte stream with libarchive's own filters (format "raw").
inline std::string compress(const std::string& raw, Compression c) {
  if (c == Compression::kNone) return raw;
  archive* a = archive_write_new();
  check(archive_write_set_format_raw(a), a, "raw");
  check(c == Compression::kGzip ? archive_write_add_filter_gzip(a) : archive_write_add_filter_zstd(a), a,
        "filter");
  std::string out;
  check(open_string(a, &out, false), a, "open");
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "layer");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<int64_t>(raw.size()));
  check(archive_write_header(a, e), a, "header");
  archive_write_data(a, raw.data(), raw.size());
  archive_entry_free(e);
  check(archive_write_close(a), a, "close");
  archive_write_free(a);
  return out;
}

inline std::string sha256_digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// Writes `bytes` to a fresh temp file and returns an fd open at its start.
inline int blob_fd(const std::string& bytes) {
  char path[] = "/tmp/crid-blob-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp");
  ::unlink(path);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) throw std::runtime_error("write");
    off += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

}  // namespace crid::image::testing
