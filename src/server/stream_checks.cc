#include "server/stream_checks.h"

#include "server/grpc_status.h"

namespace crid::server {

grpc::Status streaming_available(Backend& b, const char* rpc) {
  if (!b.stream_server)
    return unimplemented(std::string(rpc) + ": the streaming server is not running");
  if (!b.stream_backend)
    return unimplemented(std::string(rpc) +
                         ": no container stream backend (exec/attach/port-forward into "
                         "containers) is built into this crid");
  return grpc::Status::OK;
}

grpc::Status running_container(Backend& b, const char* rpc, const std::string& id,
                               std::string* full_id) {
  if (id.empty()) return invalid_argument(std::string(rpc) + ": container_id is empty");
  auto rec = b.containers->status(id);
  if (!rec) return to_grpc(rec.error().wrap(rpc));
  if (rec->state != container::ContainerState::kRunning)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        fmt::format("{}: container {} is not running (state {})", rpc, rec->id,
                                    container::to_string(rec->state)));
  *full_id = rec->id;
  return grpc::Status::OK;
}

grpc::Status check_stdio(const char* rpc, const std::string& id, bool in, bool out, bool err,
                         bool tty) {
  if (!in && !out && !err)
    return invalid_argument(fmt::format(
        "{} {}: one of stdin, stdout and stderr must be requested", rpc, id));
  if (tty && err)
    return invalid_argument(fmt::format(
        "{} {}: tty and stderr cannot both be set (a terminal merges stderr into stdout)", rpc,
        id));
  return grpc::Status::OK;
}

}  // namespace crid::server
