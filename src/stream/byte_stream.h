// stream::ByteStream: one accepted client connection of the streaming
// server, plain TCP or TLS, after the HTTP request head was read. The
// protocol sessions (SPDY, WebSocket) read and write through it only.
#pragma once

#include <cstddef>
#include <string>

#include "util/result.h"

namespace crid::stream {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to `len` bytes; 0 means the peer closed. Blocks: sessions
  // poll fd() (and check pending()) first to apply their idle timeout.
  virtual Result<size_t> read(void* buf, size_t len) = 0;
  // Writes all of `data` or fails. Safe to call from several threads: one
  // write is never interleaved with another.
  virtual Status write_all(const void* data, size_t len) = 0;
  // Stops both directions; a blocked read() returns 0 or an error.
  virtual void shutdown() = 0;
  // The socket, for poll(): readable when read() would not block (with TLS,
  // call pending() too).
  virtual int fd() const = 0;
  // Bytes already decrypted/buffered that poll() on fd() cannot see.
  virtual size_t pending() const = 0;
  // For log lines: "127.0.0.1:41234".
  virtual std::string peer() const = 0;
};

}  // namespace crid::stream
