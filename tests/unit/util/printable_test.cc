#include "util/printable.h"

#include <gtest/gtest.h>

#include <string>

namespace crid {
namespace {

TEST(Printable, QuotesPlainTextAsIs) { EXPECT_EQ(printable("v4.channel.k8s.io"), "\"v4.channel.k8s.io\""); }

TEST(Printable, EscapesQuotesAndBackslashes) { EXPECT_EQ(printable("a\"b\\c"), "\"a\\\"b\\\\c\""); }

// fmt's "{:?}" aborted the process on these bytes (SPDY header names and
// WebSocket resize events from the fuzzers); they must come out as text.
TEST(Printable, EscapesControlBytesAndInvalidUtf8) {
  EXPECT_EQ(printable(std::string("\xf3\x00\n", 3)), "\"\\xf3\\x00\\x0a\"");
  EXPECT_EQ(printable(std::string("\xc3\xa9")), "\"\\xc3\\xa9\"");
}

}  // namespace
}  // namespace crid
