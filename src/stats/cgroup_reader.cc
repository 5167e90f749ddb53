#include "stats/cgroup_reader.h"

#include <linux/magic.h>
#include <sys/statfs.h>
#include <time.h>

#include "stats/cgroup_files.h"
#include "util/fs.h"
#include "util/clock.h"

namespace crid::stats {

namespace {

Result<std::string> read_small(const std::string& path) { return fs::read_file(path, 1 << 20); }

Result<uint64_t> read_value(const std::string& path) {
  CRID_ASSIGN(std::string text, read_small(path));
  return parse_single_value(text, path);
}

Result<std::map<std::string, uint64_t>> read_keyed(const std::string& path) {
  CRID_ASSIGN(std::string text, read_small(path));
  return parse_keyed_values(text, path);
}

Result<uint64_t> key_of(const std::map<std::string, uint64_t>& m, const char* key,
                        const std::string& path) {
  auto it = m.find(key);
  if (it == m.end())
    return make_error(ErrorKind::kInternal, "{} has no \"{}\" entry", path, key);
  return it->second;
}

// pids.current is absent where the pids controller is not enabled; that
// means "unknown", not an error.
Result<std::optional<uint64_t>> read_processes(const std::string& dir) {
  std::string path = dir + "/pids.current";
  if (!fs::exists(path)) return std::optional<uint64_t>();
  CRID_ASSIGN(uint64_t v, read_value(path));
  return std::optional<uint64_t>(v);
}

}  // namespace

CgroupReader::CgroupReader(CgroupVersion version, std::string root)
    : version_(version), root_(std::move(root)) {}

CgroupReader CgroupReader::for_host(const std::string& root) {
  struct statfs sfs;
  bool v2 = ::statfs(root.c_str(), &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
  return CgroupReader(v2 ? CgroupVersion::kV2 : CgroupVersion::kV1, root);
}

Result<std::string> CgroupReader::dir_of(const char* controller, const std::string& rel_path) const {
  std::string base = version_ == CgroupVersion::kV2 ? root_ : root_ + "/" + controller;
  return fs::join_within(base, rel_path);
}

bool CgroupReader::exists(const std::string& rel_path) const {
  auto dir = dir_of("memory", rel_path);
  return dir && fs::exists(*dir);
}

Result<CgroupSample> CgroupReader::read(const std::string& rel_path) const {
  CgroupSample s;
  s.timestamp_ns = now_ns();
  CRID_ASSIGN(std::string mem_dir, dir_of("memory", rel_path));
  if (!fs::exists(mem_dir))
    return make_error(ErrorKind::kNotFound, "cgroup {} does not exist ({} is missing)", rel_path,
                      mem_dir);
  Status st = version_ == CgroupVersion::kV2 ? read_v2(rel_path, s) : read_v1(rel_path, s);
  if (!st) return st.error().wrap(fmt::format("reading cgroup {}", rel_path));
  return s;
}

Status CgroupReader::read_v1(const std::string& rel_path, CgroupSample& s) const {
  CRID_ASSIGN(std::string cpu_dir, dir_of("cpuacct", rel_path));
  CRID_ASSIGN(std::string mem_dir, dir_of("memory", rel_path));
  CRID_ASSIGN(std::string pids_dir, dir_of("pids", rel_path));
  CRID_ASSIGN(s.cpu_usage_ns, read_value(cpu_dir + "/cpuacct.usage"));
  CRID_ASSIGN(s.memory_usage, read_value(mem_dir + "/memory.usage_in_bytes"));
  std::string stat_path = mem_dir + "/memory.stat";
  CRID_ASSIGN(auto stat, read_keyed(stat_path));
  // The total_ entries include descendants, as usage_in_bytes does.
  CRID_ASSIGN(s.inactive_file, key_of(stat, "total_inactive_file", stat_path));
  CRID_ASSIGN(s.rss, key_of(stat, "total_rss", stat_path));
  CRID_ASSIGN(s.page_faults, key_of(stat, "total_pgfault", stat_path));
  CRID_ASSIGN(s.major_page_faults, key_of(stat, "total_pgmajfault", stat_path));
  std::string limit_path = mem_dir + "/memory.limit_in_bytes";
  CRID_ASSIGN(std::string limit, read_small(limit_path));
  CRID_ASSIGN(s.memory_limit, parse_limit(limit, limit_path));
  CRID_ASSIGN(s.processes, read_processes(pids_dir));
  return Ok();
}

Status CgroupReader::read_v2(const std::string& rel_path, CgroupSample& s) const {
  CRID_ASSIGN(std::string dir, dir_of("", rel_path));
  std::string cpu_path = dir + "/cpu.stat";
  CRID_ASSIGN(auto cpu, read_keyed(cpu_path));
  CRID_ASSIGN(uint64_t usage_usec, key_of(cpu, "usage_usec", cpu_path));
  s.cpu_usage_ns = usage_usec * 1000;
  CRID_ASSIGN(s.memory_usage, read_value(dir + "/memory.current"));
  std::string stat_path = dir + "/memory.stat";
  CRID_ASSIGN(auto stat, read_keyed(stat_path));
  CRID_ASSIGN(s.inactive_file, key_of(stat, "inactive_file", stat_path));
  CRID_ASSIGN(s.rss, key_of(stat, "anon", stat_path));
  CRID_ASSIGN(s.page_faults, key_of(stat, "pgfault", stat_path));
  CRID_ASSIGN(s.major_page_faults, key_of(stat, "pgmajfault", stat_path));
  std::string limit_path = dir + "/memory.max";
  CRID_ASSIGN(std::string limit, read_small(limit_path));
  CRID_ASSIGN(s.memory_limit, parse_limit(limit, limit_path));
  CRID_ASSIGN(s.processes, read_processes(dir));
  return Ok();
}

}  // namespace crid::stats
