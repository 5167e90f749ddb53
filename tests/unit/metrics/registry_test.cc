#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "metrics/crid_metrics.h"

namespace crid::metrics {
namespace {

TEST(Registry, CounterFamilyRendersHelpTypeAndOneLinePerChild) {
  Registry r;
  auto& ops = r.counter_family("crid_ops_total", "Calls\nserved \\ by method.", {"method"});
  ops.with({"Version"}).inc(3);
  ops.with({"Status"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP crid_ops_total Calls\\nserved \\\\ by method.\n"
            "# TYPE crid_ops_total counter\n"
            "crid_ops_total{method=\"Status\"} 1\n"
            "crid_ops_total{method=\"Version\"} 3\n");
}

TEST(Registry, ChildrenAreStable) {
  Registry r;
  auto& f = r.counter_family("c_total", "c", {"a"});
  Counter& x = f.with({"1"});
  for (int i = 0; i < 100; ++i) f.with({std::to_string(i + 2)});
  x.inc();
  EXPECT_EQ(&f.with({"1"}), &x);
  EXPECT_EQ(x.value(), 1u);
}

TEST(Registry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("lat_seconds", "Latency.", {0.5, 1});
  h.observe(0.25);
  h.observe(0.5);  // le is inclusive
  h.observe(0.75);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.5\"} 2\n"
            "lat_seconds_bucket{le=\"1\"} 3\n"
            "lat_seconds_bucket{le=\"+Inf\"} 4\n"
            "lat_seconds_sum 8.5\n"
            "lat_seconds_count 4\n");
}

TEST(Registry, LabelledHistogramPutsLeLast) {
  Registry r;
  auto& f = r.histogram_family("h", "h", {"method"}, {1});
  f.with({"Version"}).observe(2);
  std::string text = r.render();
  EXPECT_NE(text.find("h_bucket{method=\"Version\",le=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{method=\"Version\",le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_sum{method=\"Version\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_count{method=\"Version\"} 1\n"), std::string::npos) << text;
}

TEST(Registry, GaugesAndScrapeTimeValues) {
  Registry r;
  auto& g = r.gauge("temp", "t");
  g.set(2.5);
  g.add(-1);
  int calls = 0;
  r.gauge_func("computed", "c", [&] { return ++calls * 10.0; });
  r.counter_func("read_total", "r", [] { return 7.0; });
  EXPECT_EQ(r.render(),
            "# HELP temp t\n# TYPE temp gauge\ntemp 1.5\n"
            "# HELP computed c\n# TYPE computed gauge\ncomputed 10\n"
            "# HELP read_total r\n# TYPE read_total counter\nread_total 7\n");
  EXPECT_NE(r.render().find("computed 20\n"), std::string::npos);
}

TEST(Registry, RefusesBadOrDuplicateNames) {
  Registry r;
  r.counter("a_total", "a");
  EXPECT_THROW(r.counter("a_total", "again"), std::invalid_argument);
  EXPECT_THROW(r.counter("bad-name", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter_family("x_total", "x", {"le"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "h", {1, 0.5}), std::invalid_argument);
  auto& f = r.counter_family("y_total", "y", {"a", "b"});
  EXPECT_THROW(f.with({"only one"}), std::invalid_argument);
}

TEST(Registry, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  auto& f = r.counter_family("n_total", "n", {"t"});
  auto& h = r.histogram("d", "d", {1});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        f.with({std::to_string(i % 3)}).inc();
        h.observe(t);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(f.with({"0"}).value() + f.with({"1"}).value() + f.with({"2"}).value(), 40000u);
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative[0], 20000u);  // observations 0 and 1 are <= 1
  EXPECT_DOUBLE_EQ(s.sum, 10000.0 * (0 + 1 + 2 + 3));
}

TEST(CridMetrics, ErrorsCountOnlyFailures) {
  Registry r;
  CridMetrics m(r);
  m.record_operation("Version", "OK", 0.001);
  m.record_operation("Version", "OK", 0.002);
  m.record_operation("ContainerStatus", "NotFound", 0.003);
  EXPECT_EQ(m.operations.with({"Version"}).value(), 2u);
  EXPECT_EQ(m.operations.with({"ContainerStatus"}).value(), 1u);
  EXPECT_EQ(m.errors.with({"ContainerStatus", "NotFound"}).value(), 1u);
  std::string text = r.render();
  EXPECT_EQ(text.find("crid_operations_errors_total{method=\"Version\""), std::string::npos) << text;
  EXPECT_NE(text.find("crid_operations_latency_seconds_count{method=\"Version\"} 2\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace crid::metrics
