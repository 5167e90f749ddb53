// Port-forward over WebSocket, as kubelet serves it: two channels per
// requested port (data 2*i, error 2*i+1), each opened by the server with
// the port as a little-endian uint16, then bytes piped between the data
// channel and a connection to the port inside the pod.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stream/stream_backend.h"
#include "stream/websocket_channels.h"
#include "stream/websocket_connection.h"
#include "stream/websocket_session.h"

namespace crid::stream::ws {

struct PortForwardContext {
  Connection& conn;
  const ChannelProtocol& protocol;
  StreamBackend& backend;
  const SessionLimits& limits;
  std::string tag;
};

// Channels are one byte: at most this many ports in one session.
inline constexpr size_t kMaxForwardedPorts = 127;

// Returns when every port's connection ended, or the client went away.
void run_port_forward(const PortForwardContext& ctx, const std::string& pod_id,
                      const std::vector<uint16_t>& ports);

}  // namespace crid::stream::ws
