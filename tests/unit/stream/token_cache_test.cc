#include "stream/token_cache.h"

#include <gtest/gtest.h>

#include <set>

namespace crid::stream {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  TokenCache::Clock fn() {
    return [this] { return now; };
  }
};

ExecRequest exec_of(const std::string& id) {
  ExecRequest r;
  r.container_id = id;
  r.cmd = {"sh"};
  r.stdout = true;
  return r;
}

TEST(TokenCache, TokensAreLongUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto t = random_token();
    ASSERT_TRUE(t) << t.error().message();
    // 128 bits in base64url: 22 characters.
    EXPECT_EQ(t->size(), 22u);
    EXPECT_EQ(t->find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_TRUE(seen.insert(*t).second);
  }
}

TEST(TokenCache, ConsumeReturnsTheRequestOnce) {
  TokenCache cache;
  auto token = cache.insert(exec_of("ctr1"));
  ASSERT_TRUE(token);
  auto got = cache.consume(*token);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::get<ExecRequest>(*got).container_id, "ctr1");
  EXPECT_FALSE(cache.consume(*token));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCache, UnknownTokenFindsNothing) {
  TokenCache cache;
  ASSERT_TRUE(cache.insert(exec_of("a")));
  EXPECT_FALSE(cache.consume("not-a-token"));
  EXPECT_FALSE(cache.consume(""));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TokenCache, TokensExpireAfterTheTtl) {
  FakeClock clock;
  TokenCache cache(1min, 16, clock.fn());
  auto early = cache.insert(exec_of("a"));
  auto late = cache.insert(PortForwardRequest{"pod", {80}});
  ASSERT_TRUE(early && late);
  clock.now += 59s;
  auto got = cache.consume(*late);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::get<PortForwardRequest>(*got).pod_id, "pod");
  clock.now += 1s;
  EXPECT_FALSE(cache.consume(*early));
}

TEST(TokenCache, FullCacheDropsExpiredThenRefuses) {
  FakeClock clock;
  TokenCache cache(1min, 2, clock.fn());
  ASSERT_TRUE(cache.insert(exec_of("a")));
  ASSERT_TRUE(cache.insert(exec_of("b")));
  auto third = cache.insert(exec_of("c"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().kind(), ErrorKind::kResourceExhausted);
  clock.now += 2min;
  auto again = cache.insert(exec_of("d"));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace crid::stream
