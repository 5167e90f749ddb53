#include "stats/cpu_rate.h"

#include <gtest/gtest.h>

namespace crid::stats {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(CpuRate, FirstSampleHasNoRate) {
  CpuRateTracker t;
  EXPECT_FALSE(t.update("a", 5 * kSec, 100 * kSec).has_value());
}

TEST(CpuRate, TwoSamplesGiveNanoCores) {
  CpuRateTracker t;
  t.update("a", 10 * kSec, 100 * kSec);
  // 1.5 s of CPU over 2 s of wall time: 0.75 cores.
  auto r = t.update("a", 11 * kSec + kSec / 2, 102 * kSec);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 750'000'000u);
  // Next interval: 4 s of CPU over 2 s, two busy cores.
  r = t.update("a", 15 * kSec + kSec / 2, 104 * kSec);
  EXPECT_EQ(r.value_or(0), 2'000'000'000u);
}

TEST(CpuRate, KeysAreIndependent) {
  CpuRateTracker t;
  t.update("a", 0, 100 * kSec);
  t.update("b", 0, 100 * kSec);
  EXPECT_EQ(t.update("a", kSec, 101 * kSec).value_or(0), 1'000'000'000u);
  EXPECT_EQ(t.update("b", 0, 101 * kSec).value_or(1), 0u) << "idle container: zero, not unset";
  EXPECT_EQ(t.size(), 2u);
}

TEST(CpuRate, SamplesTooCloseKeepThePreviousRate) {
  CpuRateTracker t;
  t.update("a", 0, 100 * kSec);
  t.update("a", kSec / 2, 101 * kSec);
  // 1 ms later: a rate over 1 ms would be noise; the last one stands and
  // the stored sample stays, so the next interval is measured from it.
  EXPECT_EQ(t.update("a", kSec, 101 * kSec + 1'000'000).value_or(0), 500'000'000u);
  EXPECT_EQ(t.update("a", 2 * kSec / 2 + kSec / 2, 102 * kSec).value_or(0), 1'000'000'000u);
}

TEST(CpuRate, CounterGoingBackwardsRestarts) {
  CpuRateTracker t;
  t.update("a", 50 * kSec, 100 * kSec);
  // The cgroup was recreated (container restarted under the same key).
  EXPECT_FALSE(t.update("a", kSec, 101 * kSec).has_value());
  EXPECT_EQ(t.update("a", 2 * kSec, 102 * kSec).value_or(0), 1'000'000'000u);
}

TEST(CpuRate, StaleKeysAreForgotten) {
  CpuRateTracker t;
  t.update("gone", 0, 100 * kSec);
  t.update("live", 0, 100 * kSec);
  int64_t later = 100 * kSec + CpuRateTracker::kForgetAfterNs + kSec;
  t.update("live", kSec, later);
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace crid::stats
