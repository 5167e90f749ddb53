#include "server/metrics_interceptor.h"

#include <chrono>
#include <cstring>

namespace crid::server {

namespace {

namespace gx = grpc::experimental;

class MetricsInterceptor final : public gx::Interceptor {
 public:
  MetricsInterceptor(gx::ServerRpcInfo* info, metrics::CridMetrics& metrics)
      : method_(method_name(info->method())), metrics_(metrics), began_(std::chrono::steady_clock::now()) {}

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_STATUS)) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
      metrics_.record_operation(method_, status_code_name(methods->GetSendStatus().error_code()), secs);
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  metrics::CridMetrics& metrics_;
  std::chrono::steady_clock::time_point began_;
};

class MetricsInterceptorFactory final : public gx::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(metrics::CridMetrics& m) : metrics_(m) {}
  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  metrics::CridMetrics& metrics_;
};

}  // namespace

std::string status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "Canceled";
    case grpc::StatusCode::UNKNOWN: return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT: return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND: return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS: return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED: return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FailedPrecondition";
    case grpc::StatusCode::ABORTED: return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE: return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED: return "Unimplemented";
    case grpc::StatusCode::INTERNAL: return "Internal";
    case grpc::StatusCode::UNAVAILABLE: return "Unavailable";
    case grpc::StatusCode::DATA_LOSS: return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED: return "Unauthenticated";
    default: return "Code" + std::to_string(static_cast<int>(code));
  }
}

std::string method_name(const char* full_method) {
  if (!full_method) return "unknown";
  const char* slash = std::strrchr(full_method, '/');
  return slash ? std::string(slash + 1) : std::string(full_method);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> make_metrics_interceptor_factory(
    metrics::CridMetrics& metrics) {
  return std::make_unique<MetricsInterceptorFactory>(metrics);
}

}  // namespace crid::server
