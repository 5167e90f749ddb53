// Placeholder until the WebSocket side (branch stream-ws) is merged: the
// lead deletes this file then. Answers 501 so a WebSocket client learns
// what is missing instead of hanging.
#include "stream/http_head.h"
#include "stream/websocket_session.h"

namespace crid::stream {

void serve_websocket(std::unique_ptr<ByteStream> conn, const HttpRequest&, const StreamRequest&,
                     StreamBackend&, const SessionLimits&) {
  std::string resp = http_response(501, "Not Implemented",
                                   "WebSocket streaming is not built yet; use SPDY/3.1\n");
  (void)conn->write_all(resp.data(), resp.size());
}

}  // namespace crid::stream
