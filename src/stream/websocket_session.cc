// serve_websocket: checks the query against the request, answers the
// opening handshake, then hands the connection to the exec/attach or the
// port-forward session.
#include "stream/websocket_session.h"

#include <csignal>
#include <string_view>
#include <vector>

#include "stream/websocket_connection.h"
#include "stream/websocket_handshake.h"
#include "stream/websocket_port_forward.h"
#include "stream/websocket_query.h"
#include "stream/websocket_remote_command.h"
#include "util/log.h"
#include "util/printable.h"

namespace crid::stream {
namespace {

// Largest message a client may send; kubectl sends stdin in 32 KiB pieces.
constexpr size_t kMaxMessage = 1 << 20;

std::vector<std::string_view> names_of(std::span<const ws::ChannelProtocol> protocols) {
  std::vector<std::string_view> names;
  for (const auto& p : protocols) names.push_back(p.name);
  return names;
}

void refuse(ByteStream& conn, const std::string& tag, int status, const std::string& reason,
            const std::string& response) {
  spdlog::warn("[{}] refused ({}): {}", tag, status, reason);
  (void)conn.write_all(response.data(), response.size());
}

// Answers the handshake; the chosen protocol, or nullptr once refused.
const ws::ChannelProtocol* open(ByteStream& conn, const HttpRequest& req,
                                std::span<const ws::ChannelProtocol> protocols,
                                const std::string& tag) {
  auto names = names_of(protocols);
  ws::Handshake hs = ws::negotiate(req, names);
  if (!hs.accepted()) {
    refuse(conn, tag, hs.status, hs.reason, hs.response);
    return nullptr;
  }
  Status s = conn.write_all(hs.response.data(), hs.response.size());
  if (!s) {
    spdlog::info("[{}] writing the handshake response: {}", tag, s.error().message());
    return nullptr;
  }
  const ws::ChannelProtocol* chosen = ws::find_protocol(protocols, hs.protocol);
  spdlog::info("[{}] websocket open, subprotocol {}", tag, printable(hs.protocol));
  return chosen;
}

template <typename Req>
Result<Req> narrowed(const HttpRequest& http, const Req& req) {
  CRID_ASSIGN(auto flags, ws::streams_for(http, {req.stdin, req.stdout, req.stderr, req.tty}));
  Req out = req;
  out.stdin = flags.stdin;
  out.stdout = flags.stdout;
  out.stderr = flags.stderr;
  out.tty = flags.tty;
  return out;
}

template <typename Req, typename Run>
void serve_remote_command(ByteStream& conn, const HttpRequest& http, const Req& req,
                          StreamBackend& backend, const SessionLimits& limits,
                          const std::string& tag, Run run) {
  auto effective = narrowed(http, req);
  if (!effective) {
    refuse(conn, tag, 400, effective.error().message(),
           ws::http_error_response(400, effective.error().message()));
    return;
  }
  const ws::ChannelProtocol* protocol = open(conn, http, ws::remote_command_protocols(), tag);
  if (!protocol) return;
  ws::Connection c(conn, kMaxMessage);
  run(ws::RemoteCommandContext{c, *protocol, backend, limits, tag}, *effective);
}

}  // namespace

void serve_websocket(std::unique_ptr<ByteStream> conn, const HttpRequest& req,
                     const StreamRequest& what, StreamBackend& backend,
                     const SessionLimits& limits) {
  // A client that vanished must cost an EPIPE, not the daemon.
  ::signal(SIGPIPE, SIG_IGN);
  if (const auto* exec = std::get_if<ExecRequest>(&what)) {
    std::string tag = fmt::format("WebSocket exec ctr={} peer={}", log::short_id(exec->container_id),
                                  conn->peer());
    serve_remote_command(*conn, req, *exec, backend, limits, tag, ws::run_exec);
  } else if (const auto* attach = std::get_if<AttachRequest>(&what)) {
    std::string tag = fmt::format("WebSocket attach ctr={} peer={}",
                                  log::short_id(attach->container_id), conn->peer());
    serve_remote_command(*conn, req, *attach, backend, limits, tag, ws::run_attach);
  } else {
    const auto& pf = std::get<PortForwardRequest>(what);
    std::string tag =
        fmt::format("WebSocket port-forward pod={} peer={}", log::short_id(pf.pod_id), conn->peer());
    auto ports = ws::ports_for(req, pf);
    if (!ports) {
      refuse(*conn, tag, 400, ports.error().message(),
             ws::http_error_response(400, ports.error().message()));
    } else if (const auto* protocol = open(*conn, req, ws::port_forward_protocols(), tag)) {
      ws::Connection c(*conn, kMaxMessage);
      ws::run_port_forward(ws::PortForwardContext{c, *protocol, backend, limits, tag},
                           pf.pod_id, *ports);
    }
  }
  conn->shutdown();
}

}  // namespace crid::stream
