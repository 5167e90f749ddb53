// The only place crid errors become gRPC status codes the kubelet acts on.
#pragma once

#include <grpcpp/grpcpp.h>

#include "util/result.h"

namespace crid::server {

grpc::StatusCode to_grpc_code(ErrorKind kind);

inline grpc::Status to_grpc(const Error& e) {
  return grpc::Status(to_grpc_code(e.kind()), e.message());
}
inline grpc::Status to_grpc(const Status& s) { return s ? grpc::Status::OK : to_grpc(s.error()); }

inline grpc::Status invalid_argument(const std::string& msg) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, msg);
}

// For RPCs whose feature is not built yet: the reason names what is missing.
inline grpc::Status unimplemented(const std::string& what) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, what);
}

}  // namespace crid::server
