#include "runtime/log_format.h"

#include <fmt/format.h>

#include <limits>

namespace crid::runtime {

const char* to_string(LogStream s) { return s == LogStream::kStdout ? "stdout" : "stderr"; }

namespace {

// Reads exactly `n` decimal digits from s at pos.
bool read_digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  pos++;
  return true;
}

Error bad_time(std::string_view s) {
  return make_error(ErrorKind::kInvalidArgument, "invalid RFC 3339 timestamp \"{}\"",
                    s.substr(0, 64));
}

}  // namespace

Result<LogTime> parse_rfc3339_nano(std::string_view s) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!read_digits(s, pos, 4, year) || !expect(s, pos, '-') || !read_digits(s, pos, 2, month) ||
      !expect(s, pos, '-') || !read_digits(s, pos, 2, day) || !expect(s, pos, 'T') ||
      !read_digits(s, pos, 2, hour) || !expect(s, pos, ':') || !read_digits(s, pos, 2, minute) ||
      !expect(s, pos, ':') || !read_digits(s, pos, 2, second))
    return bad_time(s);
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    pos++;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits == 9) return bad_time(s);
      nanos = nanos * 10 + (s[pos] - '0');
      digits++;
      pos++;
    }
    if (digits == 0) return bad_time(s);
    for (; digits < 9; digits++) nanos *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    pos++;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    pos++;
    int oh, om;
    if (!read_digits(s, pos, 2, oh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, om) ||
        oh > 23 || om > 59)
      return bad_time(s);
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad_time(s);
  }
  if (pos != s.size()) return bad_time(s);

  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  // 60 is allowed for a leap second, as RFC 3339 does.
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) return bad_time(s);
  auto t =
      sys_days{ymd} + hours{hour} + minutes{minute} + seconds{second} - minutes{offset_minutes};
  // LogTime counts int64 nanoseconds: years outside ~1678..2261 would
  // overflow it (found by fuzzing log_line).
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  int64_t secs = t.time_since_epoch().count();
  if (secs > kMaxSeconds || secs < -kMaxSeconds) return bad_time(s);
  return LogTime{duration_cast<nanoseconds>(t.time_since_epoch()) + nanoseconds{nanos}};
}

std::string format_rfc3339_nano(LogTime t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  hh_mm_ss<nanoseconds> tod{t - days};
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:09d}Z",
                     static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()), tod.hours().count(), tod.minutes().count(),
                     tod.seconds().count(), tod.subseconds().count());
}

Result<LogRecord> parse_log_line(std::string_view line) {
  auto bad = [&](const char* what) {
    return make_error(ErrorKind::kInvalidArgument, "malformed CRI log line ({}): \"{}\"", what,
                      line.substr(0, 80));
  };
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return bad("no stream");
  auto time = parse_rfc3339_nano(line.substr(0, sp1));
  if (!time) return bad("bad timestamp");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return bad("no tag");
  LogRecord r;
  r.time = *time;
  std::string_view stream = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (stream == "stdout")
    r.stream = LogStream::kStdout;
  else if (stream == "stderr")
    r.stream = LogStream::kStderr;
  else
    return bad("unknown stream");
  // The tag may be the end of the line when the text is empty.
  size_t tag_end = line.find(' ', sp2 + 1);
  std::string_view tag = line.substr(
      sp2 + 1, tag_end == std::string_view::npos ? std::string_view::npos : tag_end - sp2 - 1);
  if (tag == "F")
    r.partial = false;
  else if (tag == "P")
    r.partial = true;
  else
    return bad("unknown tag");
  if (tag_end != std::string_view::npos) r.text = std::string(line.substr(tag_end + 1));
  return r;
}

Result<std::vector<LogRecord>> parse_log(std::string_view content) {
  std::vector<LogRecord> out;
  size_t pos = 0;
  size_t lineno = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string_view::npos ? content.size() : nl;
    lineno++;
    auto r = parse_log_line(content.substr(pos, end - pos));
    if (!r) return r.error().wrap(fmt::format("line {}", lineno));
    out.push_back(std::move(*r));
    pos = end + 1;
  }
  return out;
}

std::string format_log_record(const LogRecord& r) {
  return fmt::format("{} {} {} {}\n", format_rfc3339_nano(r.time), to_string(r.stream),
                     r.partial ? 'P' : 'F', r.text);
}

std::string format_log_chunk(LogTime t, LogStream stream, std::string_view data) {
  std::string out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    bool partial = nl == std::string_view::npos;
    size_t end = partial ? data.size() : nl;
    out +=
        format_log_record(LogRecord{t, stream, partial, std::string(data.substr(pos, end - pos))});
    pos = end + 1;
  }
  return out;
}

std::string stream_text(const std::vector<LogRecord>& records, LogStream stream) {
  std::string out;
  for (const auto& r : records) {
    if (r.stream != stream) continue;
    out += r.text;
    if (!r.partial) out += '\n';
  }
  return out;
}

}  // namespace crid::runtime
