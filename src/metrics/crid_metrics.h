// The metrics crid exports, all named crid_*: one place that lists them,
// their help text and labels. Values that other components already keep
// (pull bytes, OOM kills, dropped event subscribers, running pods and
// containers) are attached as scrape-time reads by the daemon, see
// add_state_metrics() in daemon/.
#pragma once

#include <string>

#include "metrics/registry.h"

namespace crid::metrics {

struct CridMetrics {
  explicit CridMetrics(Registry& r);

  // Records one finished CRI call: `method` is the RPC name ("Version"),
  // `code` the gRPC status code name ("OK", "NotFound"); latency in seconds.
  void record_operation(const std::string& method, const std::string& code, double seconds);
  void record_pull(bool ok, double seconds);

  CounterFamily& operations;    // crid_operations_total{method}
  CounterFamily& errors;        // crid_operations_errors_total{method,code}
  HistogramFamily& latency;     // crid_operations_latency_seconds{method}
  Counter& pulls_succeeded;     // crid_image_pulls_success_total
  Counter& pulls_failed;        // crid_image_pulls_failure_total
  Histogram& pull_duration;     // crid_image_pull_duration_seconds
};

}  // namespace crid::metrics
