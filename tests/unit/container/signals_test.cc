#include "container/signals.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace crid::container {
namespace {

TEST(ParseSignal, NamesNumbersAndRealtime) {
  EXPECT_EQ(*parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(*parse_signal("sigusr1"), SIGUSR1);
  EXPECT_EQ(*parse_signal("9"), SIGKILL);
  EXPECT_EQ(*parse_signal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(*parse_signal("SIGRTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(*parse_signal("RTMAX-1"), SIGRTMAX - 1);
}

TEST(ParseSignal, RejectsNonsenseNamingIt) {
  for (const char* bad : {"", "SIGNOPE", "0", "-1", "999", "SIGRTMIN-1", "SIGRTMAX+1", "SIGRTMIN+x", "15abc"}) {
    auto r = parse_signal(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.error().message().find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

}  // namespace
}  // namespace crid::container
