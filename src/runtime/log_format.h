// The CRI container log format, as conmon writes it and the kubelet reads
// it: one record per line,
//   <RFC 3339 timestamp with nanoseconds> <stdout|stderr> <F|P> <text>
// where P marks a partial line (the program wrote no newline yet) and F a
// full one. Pure functions, no I/O: tests, stats and fuzzing use them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace crid::runtime {

using LogTime = std::chrono::sys_time<std::chrono::nanoseconds>;

enum class LogStream { kStdout, kStderr };
const char* to_string(LogStream s);

struct LogRecord {
  LogTime time;
  LogStream stream = LogStream::kStdout;
  bool partial = false;
  std::string text;  // without the record's terminating newline
  bool operator==(const LogRecord&) const = default;
};

// "2024-05-01T10:00:00.123456789Z" or with a "+02:00" offset; the fraction
// may have 0-9 digits.
Result<LogTime> parse_rfc3339_nano(std::string_view s);
// Always UTC with nine fraction digits: fixed width, sorts as text.
std::string format_rfc3339_nano(LogTime t);

// One record, `line` without its trailing newline.
Result<LogRecord> parse_log_line(std::string_view line);
// Every record of a log file's content; a malformed line is an error naming
// its line number. A missing final newline is tolerated.
Result<std::vector<LogRecord>> parse_log(std::string_view content);

// The record's line, with its terminating newline.
std::string format_log_record(const LogRecord& r);
// What a writer produces for one chunk of a stream: one F record per
// newline-terminated line, and a P record for a trailing partial line.
std::string format_log_chunk(LogTime t, LogStream stream, std::string_view data);

// The stream's text with partial records joined and each full record ending
// in a newline: what the program wrote on that stream.
std::string stream_text(const std::vector<LogRecord>& records, LogStream stream);

}  // namespace crid::runtime
