// What Exec, Attach and PortForward check before handing out a streaming
// URL: the streaming parts exist, and the target is there and running.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "server/backend.h"

namespace crid::server {

// UNIMPLEMENTED naming the missing part when the streaming server or the
// container-side backend is not there; OK otherwise.
grpc::Status streaming_available(Backend& b, const char* rpc);

// The full id of a running container: NOT_FOUND for an unknown one,
// FAILED_PRECONDITION for one that is not running; both name it.
grpc::Status running_container(Backend& b, const char* rpc, const std::string& id,
                               std::string* full_id);

// INVALID_ARGUMENT unless at least one stream is asked for and tty does
// not come with a separate stderr.
grpc::Status check_stdio(const char* rpc, const std::string& id, bool in, bool out, bool err,
                         bool tty);

}  // namespace crid::server
