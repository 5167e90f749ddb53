#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace crid::metrics {
namespace {

TEST(Exposition, HelpEscapesBackslashAndNewlineOnly) {
  EXPECT_EQ(escape_help("a \\ b\nc \"q\""), "a \\\\ b\\nc \"q\"");
}

TEST(Exposition, LabelValuesEscapeQuotesToo) {
  EXPECT_EQ(escape_label_value("x\"y\\z\nw"), "x\\\"y\\\\z\\nw");
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(Exposition, Values) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1e-9), "1e-09");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  // Beyond 2^53 integers are no longer exact: printed as a double.
  EXPECT_EQ(format_value(1e20), "1e+20");
}

TEST(Exposition, Labels) {
  EXPECT_EQ(format_labels({}), "");
  EXPECT_EQ(format_labels({{"method", "Version"}, {"code", "Not\"Found"}}),
            "{method=\"Version\",code=\"Not\\\"Found\"}");
}

TEST(Exposition, Names) {
  EXPECT_TRUE(valid_metric_name("crid_operations_total"));
  EXPECT_TRUE(valid_metric_name("a:b"));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("method"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("__reserved"));
}

}  // namespace
}  // namespace crid::metrics
