#include "stats/cgroup_files.h"

#include <charconv>

namespace crid::stats {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool to_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// v1 reports "no limit" as PAGE_COUNTER_MAX in bytes (2^63 - 1 rounded down
// to a page); nothing real comes near 2^62.
constexpr uint64_t kV1Unlimited = uint64_t{1} << 62;

}  // namespace

Result<std::map<std::string, uint64_t>> parse_keyed_values(std::string_view text,
                                                           const std::string& what) {
  std::map<std::string, uint64_t> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line_no++;
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    uint64_t v = 0;
    if (sp == std::string_view::npos || !to_u64(trim(line.substr(sp + 1)), &v))
      return make_error(ErrorKind::kInternal, "{}: line {} is not \"key value\": \"{}\"", what,
                        line_no, line);
    out[std::string(line.substr(0, sp))] = v;
  }
  return out;
}

Result<uint64_t> parse_single_value(std::string_view text, const std::string& what) {
  uint64_t v = 0;
  if (!to_u64(trim(text), &v))
    return make_error(ErrorKind::kInternal, "{}: expected a number, got \"{}\"", what, trim(text));
  return v;
}

Result<std::optional<uint64_t>> parse_limit(std::string_view text, const std::string& what) {
  if (trim(text) == "max") return std::optional<uint64_t>();
  CRID_ASSIGN(uint64_t v, parse_single_value(text, what));
  if (v >= kV1Unlimited) return std::optional<uint64_t>();
  return std::optional<uint64_t>(v);
}

std::string systemd_slice_path(const std::string& slice) {
  if (slice == "-.slice" || slice.empty()) return "";
  std::string stem = slice.ends_with(".slice") ? slice.substr(0, slice.size() - 6) : slice;
  // Each dash opens a nested slice: a-b.slice lives in a.slice.
  std::string out;
  for (size_t pos = 0;; pos++) {
    pos = stem.find('-', pos);
    if (pos == std::string::npos) break;
    out += "/" + stem.substr(0, pos) + ".slice";
  }
  return out + "/" + stem + ".slice";
}

std::string cgroup_fs_path(const std::string& cgroups_path) {
  size_t c1 = cgroups_path.find(':');
  if (c1 == std::string::npos) {
    std::string p = cgroups_path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (!p.empty() && p.front() != '/') p = "/" + p;
    return p;
  }
  size_t c2 = cgroups_path.find(':', c1 + 1);
  std::string slice = cgroups_path.substr(0, c1);
  std::string prefix = cgroups_path.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
  std::string name = c2 == std::string::npos ? "" : cgroups_path.substr(c2 + 1);
  std::string unit = prefix.empty() ? name : prefix + "-" + name;
  return systemd_slice_path(slice.empty() ? "system.slice" : slice) + "/" + unit + ".scope";
}

}  // namespace crid::stats
