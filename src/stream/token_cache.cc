#include "stream/token_cache.h"

#include <sys/random.h>

#include <cerrno>

namespace crid::stream {

Result<std::string> random_token() {
  unsigned char raw[16];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t n = ::getrandom(raw + got, sizeof(raw) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("getrandom for a stream token");
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

TokenCache::TokenCache(std::chrono::milliseconds ttl, size_t max_entries, Clock clock)
    : ttl_(ttl), max_entries_(max_entries), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

void TokenCache::drop_expired(std::chrono::steady_clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires <= now)
      it = entries_.erase(it);
    else
      ++it;
  }
}

Result<std::string> TokenCache::insert(StreamRequest req) {
  CRID_ASSIGN(std::string token, random_token());
  auto now = clock_();
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) drop_expired(now);
  if (entries_.size() >= max_entries_)
    return make_error(ErrorKind::kResourceExhausted,
                      "{} stream requests are waiting for their clients; refusing more",
                      entries_.size());
  // 128 random bits do not collide in practice; insertion still must not
  // hand one token to two requests.
  if (!entries_.emplace(token, Entry{std::move(req), now + ttl_}).second)
    return make_error(ErrorKind::kInternal, "stream token collision");
  return token;
}

std::optional<StreamRequest> TokenCache::consume(const std::string& token) {
  auto now = clock_();
  std::lock_guard lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  entries_.erase(it);
  if (e.expires <= now) return std::nullopt;
  return std::move(e.req);
}

size_t TokenCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace crid::stream
