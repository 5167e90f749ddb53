// Counts every CRI call for Prometheus without touching the handlers: a
// gRPC server interceptor that notes when a call starts and, when its status
// goes out, records the method, the status code and the time taken
// (crid_operations_total, crid_operations_errors_total,
// crid_operations_latency_seconds).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include "metrics/crid_metrics.h"

namespace crid::server {

// "NotFound", "DeadlineExceeded" ...: the names gRPC's Go metrics use.
std::string status_code_name(grpc::StatusCode code);
// "/runtime.v1.RuntimeService/Version" -> "Version".
std::string method_name(const char* full_method);

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> make_metrics_interceptor_factory(
    metrics::CridMetrics& metrics);

}  // namespace crid::server
