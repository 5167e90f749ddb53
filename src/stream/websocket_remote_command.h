// Exec and attach over a negotiated WebSocket channel protocol: pumps the
// client's stdin and resize channels into the backend's pipes and the
// process's stdout and stderr back, then reports how it ended on the error
// channel and closes.
#pragma once

#include <string>

#include "stream/requests.h"
#include "stream/stream_backend.h"
#include "stream/websocket_channels.h"
#include "stream/websocket_connection.h"
#include "stream/websocket_session.h"

namespace crid::stream::ws {

struct RemoteCommandContext {
  Connection& conn;
  const ChannelProtocol& protocol;
  StreamBackend& backend;
  const SessionLimits& limits;
  std::string tag;  // log prefix: "WebSocket exec ctr=3f2a1b.. peer=.."
};

// `req` carries the streams the session opens (already narrowed by the
// query). Returns once the backend returned and the connection is closed.
void run_exec(const RemoteCommandContext& ctx, const ExecRequest& req);
void run_attach(const RemoteCommandContext& ctx, const AttachRequest& req);

}  // namespace crid::stream::ws
