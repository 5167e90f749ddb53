#include "util/path_checks.h"

#include <gtest/gtest.h>

namespace crid::fs {
namespace {

TEST(PathChecks, DotDotOnlyAsAWholeComponent) {
  for (const char* p : {"..", "../x", "x/..", "a/../b", "/..", "/a/../", "a//../b"})
    EXPECT_TRUE(has_dot_dot_component(p)) << p;
  for (const char* p : {"", ".", "/", "a..b", "..a", "a..", "...", "a/./b", "/var/log/x.log"})
    EXPECT_FALSE(has_dot_dot_component(p)) << p;
}

}  // namespace
}  // namespace crid::fs
