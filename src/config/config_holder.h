// The live configuration. Readers take a snapshot (a shared_ptr to an
// immutable Config); SIGHUP swaps in a new one without blocking them.
#pragma once

#include <memory>
#include <mutex>

#include "config/config.h"

namespace crid {

class ConfigHolder {
 public:
  explicit ConfigHolder(Config cfg) : cfg_(std::make_shared<const Config>(std::move(cfg))) {}

  std::shared_ptr<const Config> get() const {
    std::lock_guard lock(mu_);
    return cfg_;
  }
  void set(Config cfg) {
    auto next = std::make_shared<const Config>(std::move(cfg));
    std::lock_guard lock(mu_);
    cfg_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Config> cfg_;
};

}  // namespace crid
