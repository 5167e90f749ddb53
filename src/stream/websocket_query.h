// What the query string of a WebSocket streaming request may say. The
// token already fixed the request; the query can only narrow it (a client
// that does not want stderr says stderr=0), never widen it.
#pragma once

#include <cstdint>
#include <vector>

#include "stream/http_request.h"
#include "stream/requests.h"
#include "util/result.h"

namespace crid::stream::ws {

struct StreamFlags {
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
  bool tty = false;
};

// The streams the session opens: the request's, less those the query turns
// off. A query asking for a stream the request did not is kInvalidArgument,
// as is a value other than 1/true/0/false, or no stream left at all. tty
// stays the request's (the process has a terminal or not).
Result<StreamFlags> streams_for(const HttpRequest& http, const StreamFlags& requested);

// The ports to forward: the request's, or when it named none the query's
// "port" values (repeated or comma-separated). Ports in the query must be
// among the request's when it named some.
Result<std::vector<uint16_t>> ports_for(const HttpRequest& http, const PortForwardRequest& req);

}  // namespace crid::stream::ws
