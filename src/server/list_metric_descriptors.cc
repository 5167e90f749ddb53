// ListMetricDescriptors: the cAdvisor-style metrics ListPodSandboxMetrics reports.
#include "server/runtime_service.h"
#include "server/stats_translate.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ListMetricDescriptors(grpc::ServerContext*,
                                                       const v1::ListMetricDescriptorsRequest*,
                                                       v1::ListMetricDescriptorsResponse* resp) {
  for (const auto& d : stats::metric_descriptors()) to_cri(d, resp->add_descriptors());
  return grpc::Status::OK;
}

}  // namespace crid::server
