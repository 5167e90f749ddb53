// Rollback stack for multi-step work: each acquired resource pushes a named
// undo step; if the work does not reach dismiss(), the steps run in reverse
// so nothing half-created is left behind.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace crid {

class Cleanup {
 public:
  Cleanup() = default;
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup() { run(); }

  void add(std::string name, std::function<void()> undo) {
    steps_.emplace_back(std::move(name), std::move(undo));
  }
  void dismiss() { steps_.clear(); }
  void run() {
    while (!steps_.empty()) {
      auto step = std::move(steps_.back());
      steps_.pop_back();
      step.second();
    }
  }

 private:
  std::vector<std::pair<std::string, std::function<void()>>> steps_;
};

}  // namespace crid
