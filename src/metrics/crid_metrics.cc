#include "metrics/crid_metrics.h"

namespace crid::metrics {

CridMetrics::CridMetrics(Registry& r)
    : operations(r.counter_family("crid_operations_total", "CRI calls served, by method.", {"method"})),
      errors(r.counter_family("crid_operations_errors_total",
                              "CRI calls that ended in an error, by method and gRPC status code.",
                              {"method", "code"})),
      latency(r.histogram_family("crid_operations_latency_seconds",
                                 "Time to serve a CRI call, by method (streams: until they end).", {"method"},
                                 default_latency_buckets())),
      pulls_succeeded(r.counter("crid_image_pulls_success_total", "Image pulls that succeeded.")),
      pulls_failed(r.counter("crid_image_pulls_failure_total", "Image pulls that failed.")),
      pull_duration(r.histogram("crid_image_pull_duration_seconds", "Time an image pull took, failed or not.",
                                {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600})) {}

void CridMetrics::record_operation(const std::string& method, const std::string& code, double seconds) {
  operations.with({method}).inc();
  latency.with({method}).observe(seconds);
  if (code != "OK") errors.with({method, code}).inc();
}

void CridMetrics::record_pull(bool ok, double seconds) {
  (ok ? pulls_succeeded : pulls_failed).inc();
  pull_duration.observe(seconds);
}

}  // namespace crid::metrics
