// The metrics read from the daemon's components when scraped: bytes pulled,
// OOM kills, dropped event subscribers, running pods and containers.
#pragma once

#include "metrics/registry.h"
#include "server/backend.h"

namespace crid {

// Call once the backend's services exist; they must outlive the registry's
// last render.
void add_state_metrics(metrics::Registry& registry, server::Backend& backend);

}  // namespace crid
