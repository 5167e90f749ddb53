#include "daemon/state_metrics.h"

namespace crid {

void add_state_metrics(metrics::Registry& r, server::Backend& b) {
  r.counter_func("crid_image_pull_bytes_total",
                 "Image layer bytes received from registries (partial downloads included).", [&b] { return static_cast<double>(b.images->registry().blob_bytes_received()); });
  r.counter_func("crid_containers_oom_killed_total", "Containers whose exit was an OOM kill.",
                 [&b] { return static_cast<double>(b.containers->oom_killed_total()); });
  r.counter_func("crid_container_events_dropped_total",
                 "GetContainerEvents subscribers dropped because they fell a whole queue behind.",
                 [&b] { return static_cast<double>(b.events->dropped_total()); });
  r.gauge_func("crid_container_event_subscribers", "Open GetContainerEvents streams.",
               [&b] { return static_cast<double>(b.events->subscriber_count()); });
  // Computed from the current state at scrape time.
  r.gauge_func("crid_pods_running", "Pod sandboxes that are ready.", [&b] {
    sandbox::PodFilter f;
    f.has_state = true;
    f.state = sandbox::PodState::kReady;
    auto pods = b.pods->list(f);
    return pods ? static_cast<double>(pods->size()) : 0.0;
  });
  r.gauge_func("crid_containers_running", "Containers that are running.", [&b] {
    container::ContainerFilter f;
    f.state = container::ContainerState::kRunning;
    return static_cast<double>(b.containers->list(f).size());
  });
}

}  // namespace crid
