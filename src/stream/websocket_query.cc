#include "stream/websocket_query.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "stream/websocket_port_forward.h"
#include "util/printable.h"

namespace crid::stream::ws {
namespace {

Result<std::optional<bool>> query_flag(const HttpRequest& http, std::string_view name) {
  auto values = http.query_values(name);
  if (values.empty()) return std::optional<bool>();
  const std::string& v = values.back();
  std::string lower(v.size(), '\0');
  std::transform(v.begin(), v.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "1" || lower == "true") return std::optional<bool>(true);
  if (lower == "0" || lower == "false" || lower.empty()) return std::optional<bool>(false);
  return make_error(ErrorKind::kInvalidArgument, "query parameter {}={} is not 1, true, 0 or false",
                    printable(name), printable(v));
}

Status narrow(const HttpRequest& http, std::string_view name, bool requested, bool& out) {
  CRID_ASSIGN(auto asked, query_flag(http, name));
  out = requested;
  if (!asked) return Ok();
  if (*asked && !requested) {
    return make_error(ErrorKind::kInvalidArgument,
                      "query asks for {} but the request behind the token did not", name);
  }
  if (name != "tty") out = *asked;
  return Ok();
}

}  // namespace

Result<StreamFlags> streams_for(const HttpRequest& http, const StreamFlags& requested) {
  StreamFlags out;
  CRID_TRY(narrow(http, "stdin", requested.stdin, out.stdin));
  CRID_TRY(narrow(http, "stdout", requested.stdout, out.stdout));
  CRID_TRY(narrow(http, "stderr", requested.stderr, out.stderr));
  CRID_TRY(narrow(http, "tty", requested.tty, out.tty));
  // A terminal merges stderr into stdout.
  if (out.tty) out.stderr = false;
  if (!out.stdin && !out.stdout && !out.stderr) {
    return make_error(ErrorKind::kInvalidArgument,
                      "at least one of stdin, stdout and stderr is required");
  }
  return out;
}

Result<std::vector<uint16_t>> ports_for(const HttpRequest& http, const PortForwardRequest& req) {
  std::vector<uint16_t> asked;
  for (const std::string& value : http.query_values("port")) {
    if (value.empty()) return make_error(ErrorKind::kInvalidArgument, "query parameter port is empty");
    std::string_view rest = value;
    while (true) {
      std::string_view item = rest.substr(0, rest.find(','));
      unsigned port = 0;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), port);
      if (ec != std::errc() || end != item.data() + item.size() || port < 1 || port > 65535) {
        return make_error(ErrorKind::kInvalidArgument, "port {} is not a number from 1 to 65535",
                          printable(item));
      }
      asked.push_back(static_cast<uint16_t>(port));
      if (item.size() == rest.size()) break;
      rest.remove_prefix(item.size() + 1);
    }
  }
  std::vector<uint16_t> ports;
  if (req.ports.empty()) {
    ports = std::move(asked);
  } else if (asked.empty()) {
    ports = req.ports;
  } else {
    for (uint16_t p : asked) {
      if (std::find(req.ports.begin(), req.ports.end(), p) == req.ports.end()) {
        return make_error(ErrorKind::kInvalidArgument,
                          "query asks for port {}, which the PortForward request did not", p);
      }
    }
    ports = std::move(asked);
  }
  if (ports.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "query parameter port is required");
  }
  if (ports.size() > kMaxForwardedPorts) {
    return make_error(ErrorKind::kInvalidArgument, "{} ports asked, at most {} in one session",
                      ports.size(), kMaxForwardedPorts);
  }
  return ports;
}

}  // namespace crid::stream::ws
