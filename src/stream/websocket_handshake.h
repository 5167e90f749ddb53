// The server side of the RFC 6455 opening handshake: checks the upgrade
// request, picks a subprotocol and writes the 101 response, or says why not
// as an HTTP error response.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "stream/http_request.h"

namespace crid::stream::ws {

// base64(SHA-1(key + the RFC 6455 GUID)).
std::string accept_key(std::string_view client_key);

struct Handshake {
  int status = 101;      // 101, or the HTTP error sent instead
  std::string protocol;  // the subprotocol chosen; "" when the client offered none
  std::string reason;    // why it was refused, for the log and the response body
  std::string response;  // the whole HTTP response to write
  bool accepted() const { return status == 101; }
};

// `supported` lists the subprotocols the session can speak; "" among them
// accepts a client that offers none. The client's first offer that is
// supported wins, as kubelet's server picks it.
Handshake negotiate(const HttpRequest& req, std::span<const std::string_view> supported);

// A complete HTTP/1.1 error response with a text body, connection closed.
std::string http_error_response(int status, std::string_view reason,
                                std::string_view extra_headers = {});

}  // namespace crid::stream::ws
