#include "runtime/log_format.h"

#include <gtest/gtest.h>

namespace crid::runtime {
namespace {

using std::chrono::nanoseconds;
using std::chrono::sys_days;

LogTime at(int y, unsigned m, unsigned d, int hh, int mm, int ss, int64_t ns) {
  using namespace std::chrono;
  return LogTime{sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss} +
                 nanoseconds{ns}};
}

TEST(LogTimestamp, ParsesConmonStyleOffset) {
  // conmon writes local time with a numeric offset.
  auto t = parse_rfc3339_nano("2026-11-27T11:25:12.000000042+01:00");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(*t, at(2026, 11, 27, 10, 25, 12, 42));
}

TEST(LogTimestamp, ParsesZuluAndShortFractions) {
  auto t = parse_rfc3339_nano("2024-02-29T23:59:59.5Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, at(2024, 2, 29, 23, 59, 59, 500000000));
  auto no_frac = parse_rfc3339_nano("1999-12-31T00:00:00-05:30");
  ASSERT_TRUE(no_frac);
  EXPECT_EQ(*no_frac, at(1999, 12, 31, 5, 30, 0, 0));
}

TEST(LogTimestamp, RejectsMalformed) {
  for (const char* bad :
       {"", "2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
        "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567891Z",
        "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00Zjunk", "20x4-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339_nano(bad)) << bad;
  }
}

// Found by the log_line fuzz target (fuzz/corpus/log_line/regress-0ec97f420392):
// a year past 2262 overflowed the int64 nanosecond count.
TEST(LogTimestamp, RejectsYearsNanosecondsCannotHold) {
  EXPECT_FALSE(parse_rfc3339_nano("4052-11-27T10:25:12Z"));
  EXPECT_FALSE(parse_rfc3339_nano("9999-12-31T23:59:59.999999999Z"));
  EXPECT_FALSE(parse_rfc3339_nano("1000-01-01T00:00:00Z"));
  auto late = parse_rfc3339_nano("2262-01-01T00:00:00Z");
  ASSERT_TRUE(late);
  EXPECT_EQ(*late, at(2262, 1, 1, 0, 0, 0, 0));
  EXPECT_FALSE(parse_log("2026-11-27T10:25:12.5-05:30 stdout F a\n4052-11-27T10:25:12Z stderr P x\n"));
}

TEST(LogTimestamp, FormatsFixedWidthUtc) {
  EXPECT_EQ(format_rfc3339_nano(at(2026, 1, 2, 3, 4, 5, 6)), "2026-01-02T03:04:05.000000006Z");
  auto t = at(2030, 6, 30, 12, 0, 0, 123456789);
  EXPECT_EQ(*parse_rfc3339_nano(format_rfc3339_nano(t)), t);
}

TEST(LogLine, ParsesFullAndPartial) {
  auto r = parse_log_line("2026-11-27T10:25:12.000000001Z stdout F hello world");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stream, LogStream::kStdout);
  EXPECT_FALSE(r->partial);
  EXPECT_EQ(r->text, "hello world");

  auto p = parse_log_line("2026-11-27T10:25:12.000000001+00:00 stderr P  two  spaces ");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stream, LogStream::kStderr);
  EXPECT_TRUE(p->partial);
  EXPECT_EQ(p->text, " two  spaces ");
}

TEST(LogLine, EmptyTextWithOrWithoutSeparator) {
  auto a = parse_log_line("2026-11-27T10:25:12Z stdout F ");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->text, "");
  auto b = parse_log_line("2026-11-27T10:25:12Z stdout F");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text, "");
}

TEST(LogLine, RejectsMalformed) {
  for (const char* bad : {"", "garbage", "2026-11-27T10:25:12Z", "2026-11-27T10:25:12Z stdin F x",
                          "2026-11-27T10:25:12Z stdout X x", "2026-11-27T10:25:12Z stdout FF x",
                          "yesterday stdout F x"}) {
    auto r = parse_log_line(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message().find("malformed CRI log line"), std::string::npos);
    }
  }
}

TEST(LogFile, ParseNamesTheBadLine) {
  auto r = parse_log(
      "2026-11-27T10:25:12Z stdout F one\n"
      "not a record\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("line 2"), std::string::npos) << r.error().message();
}

TEST(LogWriter, ChunkSplitsLinesAndMarksTrailingPartial) {
  auto t = at(2026, 11, 27, 10, 0, 0, 0);
  std::string out = format_log_chunk(t, LogStream::kStderr, "a\n\nbc");
  EXPECT_EQ(out,
            "2026-11-27T10:00:00.000000000Z stderr F a\n"
            "2026-11-27T10:00:00.000000000Z stderr F \n"
            "2026-11-27T10:00:00.000000000Z stderr P bc\n");
  auto parsed = parse_log(out);
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ(stream_text(*parsed, LogStream::kStderr), "a\n\nbc");
  EXPECT_EQ(stream_text(*parsed, LogStream::kStdout), "");
}

TEST(LogWriter, RoundTripsInterleavedStreams) {
  auto t = at(2026, 11, 27, 10, 0, 0, 7);
  std::string log = format_log_chunk(t, LogStream::kStdout, "par") +
                    format_log_chunk(t, LogStream::kStderr, "err line\n") +
                    format_log_chunk(t, LogStream::kStdout, "tial\nnext\n");
  auto parsed = parse_log(log);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(stream_text(*parsed, LogStream::kStdout), "partial\nnext\n");
  EXPECT_EQ(stream_text(*parsed, LogStream::kStderr), "err line\n");
  for (const auto& r : *parsed) EXPECT_EQ(r.time, t);
}

}  // namespace
}  // namespace crid::runtime
