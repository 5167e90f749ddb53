#include "stream/spdy_session.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "stream/http_head.h"
#include "stream/spdy_channels.h"
#include "stream/spdy_connection.h"
#include "stream/spdy_port_forward.h"

namespace crid::stream {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void refuse(ByteStream& conn, int code, const char* reason, const std::string& body,
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  std::string resp = http_response(code, reason, body + "\n", headers);
  (void)conn.write_all(resp.data(), resp.size());
}

}  // namespace

std::vector<std::string> split_comma_list(const std::string& value) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= value.size()) {
    size_t comma = value.find(',', at);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(at, comma - at);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    at = comma + 1;
  }
  return out;
}

std::string negotiate_protocol(const std::vector<std::string>& client,
                               const std::vector<std::string>& server) {
  for (auto& c : client)
    if (std::find(server.begin(), server.end(), c) != server.end()) return c;
  return "";
}

void serve_spdy(std::unique_ptr<ByteStream> conn, const HttpRequest& req,
                const StreamRequest& what, StreamBackend& backend, const SpdyLimits& limits) {
  if (lower(req.header("Connection").value_or("")).find("upgrade") == std::string::npos ||
      lower(req.header("Upgrade").value_or("")).find("spdy/3.1") == std::string::npos)
    return refuse(*conn, 400, "Bad Request",
                  "unable to upgrade: the request lacks Connection: Upgrade and Upgrade: SPDY/3.1");

  bool port_forward = std::holds_alternative<PortForwardRequest>(what);
  std::vector<std::string> offered;
  if (port_forward)
    offered = {spdy::kPortForwardProtocol};
  else
    offered.assign(std::begin(spdy::kChannelProtocols), std::end(spdy::kChannelProtocols));
  auto asked = split_comma_list(req.header("X-Stream-Protocol-Version").value_or(""));
  if (asked.empty())
    return refuse(*conn, 400, "Bad Request",
                  "unable to upgrade: X-Stream-Protocol-Version is required");
  std::string protocol = negotiate_protocol(asked, offered);
  if (protocol.empty()) {
    std::vector<std::pair<std::string, std::string>> accepted;
    for (auto& p : offered) accepted.emplace_back("X-Accepted-Stream-Protocol-Versions", p);
    return refuse(*conn, 403, "Forbidden",
                  fmt::format("unable to upgrade: no common protocol: client offers {}, server "
                              "accepts {}",
                              fmt::join(asked, ", "), fmt::join(offered, ", ")),
                  accepted);
  }
  std::string upgraded = fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
      "X-Stream-Protocol-Version: {}\r\n\r\n",
      protocol);
  if (!conn->write_all(upgraded.data(), upgraded.size())) return;

  spdy::ConnectionLimits cl;
  cl.idle_timeout = limits.session.idle_timeout;
  spdy::Connection c(*conn, cl);
  if (port_forward) {
    spdy::PortForwardHandler handler(c, std::get<PortForwardRequest>(what), backend);
    c.run(handler);
    handler.stop_all();
  } else {
    spdy::ChannelHandler::Request r;
    if (auto* e = std::get_if<ExecRequest>(&what))
      r = *e;
    else
      r = std::get<AttachRequest>(what);
    spdy::ChannelHandler handler(c, protocol, std::move(r), backend, limits.stream_creation);
    std::thread worker([&] { handler.run(); });
    c.run(handler);
    worker.join();
  }
  conn->shutdown();
}

}  // namespace crid::stream
