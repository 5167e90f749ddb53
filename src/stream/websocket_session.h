// stream::serve_websocket: the WebSocket (RFC 6455) side of the streaming
// server. The HTTP server calls it for a request carrying
// "Upgrade: websocket" whose token resolved to `what`; it answers the
// handshake (or an HTTP error), then runs the session to its end.
#pragma once

#include <chrono>
#include <memory>

#include "stream/byte_stream.h"
#include "stream/http_request.h"
#include "stream/requests.h"
#include "stream/stream_backend.h"

namespace crid::stream {

struct SessionLimits {
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(15)};
};

void serve_websocket(std::unique_ptr<ByteStream> conn, const HttpRequest& req,
                     const StreamRequest& what, StreamBackend& backend,
                     const SessionLimits& limits);

}  // namespace crid::stream
