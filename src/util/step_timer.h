// Laps of a multi-step operation, for one debug log line saying where its
// time went ("namespaces 6.1 ms, pause 9.8 ms, cni-add 14.2 ms"). Costs a
// clock read per lap; nothing is logged unless the caller logs it.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace crid {

class StepTimer {
 public:
  using Clock = std::chrono::steady_clock;

  StepTimer() : start_(Clock::now()), last_(start_) {}

  // Ends the step in progress, naming it.
  void lap(std::string step) {
    auto now = Clock::now();
    laps_.emplace_back(std::move(step), now - last_);
    last_ = now;
  }

  // "step 1.2 ms, step 0.3 ms, total 1.5 ms" (total from construction).
  std::string summary() const {
    std::string out;
    for (auto& [step, d] : laps_) out += fmt::format("{} {:.1f} ms, ", step, ms(d));
    out += fmt::format("total {:.1f} ms", ms(Clock::now() - start_));
    return out;
  }

 private:
  static double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  }
  Clock::time_point start_, last_;
  std::vector<std::pair<std::string, Clock::duration>> laps_;
};

}  // namespace crid
