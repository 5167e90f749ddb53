// The cAdvisor-style metrics of ListMetricDescriptors / ListPodSandboxMetrics:
// what the kubelet re-exports on /metrics/cadvisor when the runtime
// provides pod metrics. Names, label keys and kinds follow cAdvisor's, so
// dashboards keep working; every sample carries exactly the label values
// its descriptor has keys for (the kubelet refuses a mismatch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stats/types.h"

namespace crid::stats {

enum class MetricKind { kCounter, kGauge };

struct MetricDescriptor {
  std::string name;
  std::string help;
  std::vector<std::string> label_keys;
  MetricKind kind = MetricKind::kGauge;
};

struct MetricSample {
  std::string name;
  int64_t timestamp_ns = 0;
  MetricKind kind = MetricKind::kGauge;
  std::vector<std::string> label_values;
  uint64_t value = 0;
};

struct ContainerMetrics {
  std::string container_id;
  std::vector<MetricSample> metrics;
};

struct PodMetrics {
  std::string pod_id;
  std::vector<MetricSample> metrics;  // pod-wide: network
  std::vector<ContainerMetrics> containers;
};

// Every metric crid reports, in a fixed order.
const std::vector<MetricDescriptor>& metric_descriptors();

// The samples of one pod's stats: network at the pod, the rest per container.
PodMetrics pod_metrics(const PodStats& stats);

}  // namespace crid::stats
