// The resize channel carries JSON objects {"Width":80,"Height":24}, one
// after another, possibly split across messages (kubelet reads it as a
// JSON stream). This turns that text into TerminalSize records.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stream/stream_backend.h"
#include "util/result.h"

namespace crid::stream::ws {

class ResizeDecoder {
 public:
  struct Decoded {
    std::vector<TerminalSize> sizes;
    std::vector<Error> errors;  // malformed objects, dropped
  };
  // The sizes completed by `data`; decoding goes on after a bad object.
  Decoded feed(std::string_view data);

 private:
  std::string buffer_;
};

}  // namespace crid::stream::ws
