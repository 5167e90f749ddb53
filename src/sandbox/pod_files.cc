#include "sandbox/pod_files.h"

#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "util/fs.h"

namespace crid::sandbox {

namespace {

bool has_space(const std::string& s) {
  return s.empty() || std::any_of(s.begin(), s.end(), [](char c) {
           return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
         });
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

std::string hostname_file(const std::string& hostname) { return hostname + "\n"; }

std::string hosts_file(const std::string& hostname, const std::vector<std::string>& pod_ips) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  if (!hostname.empty())
    for (auto& ip : pod_ips) out += ip + "\t" + hostname + "\n";
  return out;
}

Result<std::string> resolv_conf(const DnsConfig& dns) {
  std::string out;
  for (auto& s : dns.servers) {
    if (!is_ip(s))
      return make_error(ErrorKind::kInvalidArgument, "DNS server \"{}\" is not an IP address", s);
    out += "nameserver " + s + "\n";
  }
  if (!dns.searches.empty()) {
    out += "search";
    for (auto& s : dns.searches) {
      if (has_space(s))
        return make_error(ErrorKind::kInvalidArgument, "DNS search domain \"{}\" is malformed", s);
      out += " " + s;
    }
    out += "\n";
  }
  if (!dns.options.empty()) {
    out += "options";
    for (auto& s : dns.options) {
      if (has_space(s))
        return make_error(ErrorKind::kInvalidArgument, "DNS option \"{}\" is malformed", s);
      out += " " + s;
    }
    out += "\n";
  }
  return out;
}

Status write_pod_files(const PodFilePaths& paths, const std::string& hostname,
                       const std::vector<std::string>& pod_ips, const DnsConfig& dns,
                       const std::string& host_resolv_conf) {
  CRID_TRY_CTX(fs::make_dirs(paths.dir, 0755), "creating pod dir {}", paths.dir);
  CRID_TRY(fs::write_file_replace(paths.hostname(), hostname_file(hostname)));
  CRID_TRY(fs::write_file_replace(paths.hosts(), hosts_file(hostname, pod_ips)));
  std::string resolv;
  if (!dns.empty()) {
    CRID_ASSIGN(resolv, resolv_conf(dns));
  } else {
    auto host = fs::read_file(host_resolv_conf, 1 << 20);
    resolv = host ? *host : std::string();  // a host without one: an empty file
  }
  CRID_TRY(fs::write_file_replace(paths.resolv_conf(), resolv));
  return Ok();
}

Status mount_pod_shm(const PodFilePaths& paths, int64_t size_bytes) {
  std::string dir = paths.shm();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return sys_error("creating pod shm dir {}", dir);
  std::string opts = fmt::format("mode=1777,size={}", size_bytes);
  if (::mount("shm", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts.c_str()) != 0) {
    Error e = sys_error("mounting tmpfs ({}) on {}", opts, dir);
    ::rmdir(dir.c_str());
    return e;
  }
  return Ok();
}

Status unmount_pod_shm(const PodFilePaths& paths) {
  std::string dir = paths.shm();
  // Several mounts may be stacked if something raced; peel them all.
  while (::umount2(dir.c_str(), MNT_DETACH) == 0) {
  }
  if (errno != EINVAL && errno != ENOENT) return sys_error("unmounting pod shm {}", dir);
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return sys_error("removing {}", dir);
  return Ok();
}

}  // namespace crid::sandbox
