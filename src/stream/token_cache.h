// stream::TokenCache: the single-use tokens that the Exec, Attach and
// PortForward RPCs put in their URLs. A token is 128 random bits from the
// kernel (getrandom), base64url without padding; it maps to the request it
// was made for, expires after a short time and is gone once consumed.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "stream/requests.h"
#include "util/result.h"

namespace crid::stream {

class TokenCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `max_entries` bounds memory when clients never come back: inserting
  // into a full cache first drops expired tokens, then refuses.
  explicit TokenCache(std::chrono::milliseconds ttl = std::chrono::minutes(1),
                      size_t max_entries = 4096, Clock clock = nullptr);

  // A new token for `req`; ResourceExhausted when the cache is full.
  Result<std::string> insert(StreamRequest req);
  // The request behind `token`, removed so a second use finds nothing;
  // nullopt for unknown or expired tokens.
  std::optional<StreamRequest> consume(const std::string& token);
  size_t size() const;

 private:
  struct Entry {
    StreamRequest req;
    std::chrono::steady_clock::time_point expires;
  };
  void drop_expired(std::chrono::steady_clock::time_point now);

  std::chrono::milliseconds ttl_;
  size_t max_entries_;
  Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// 16 bytes from getrandom(2), base64url (22 characters, no padding).
Result<std::string> random_token();

}  // namespace crid::stream
