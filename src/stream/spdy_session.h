// stream::serve_spdy: the SPDY/3.1 side of the streaming server. Checks
// the upgrade request, negotiates X-Stream-Protocol-Version, answers 101
// (or an HTTP error naming what is wrong), then runs the exec/attach or
// port-forward protocol until the client is done.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stream/byte_stream.h"
#include "stream/http_request.h"
#include "stream/requests.h"
#include "stream/stream_backend.h"
#include "stream/websocket_session.h"

namespace crid::stream {

struct SpdyLimits {
  SessionLimits session;
  // How long the client has to open the streams it promised.
  std::chrono::milliseconds stream_creation{std::chrono::seconds(30)};
};

void serve_spdy(std::unique_ptr<ByteStream> conn, const HttpRequest& req,
                const StreamRequest& what, StreamBackend& backend, const SpdyLimits& limits);

// The protocol both sides speak: the first of the client's (in its order)
// that the server offers; empty when none.
std::string negotiate_protocol(const std::vector<std::string>& client,
                               const std::vector<std::string>& server);
// "a, b" and repeated headers -> {"a", "b"}.
std::vector<std::string> split_comma_list(const std::string& value);

}  // namespace crid::stream
