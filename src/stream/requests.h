// What an Exec, Attach or PortForward RPC asked for, kept behind the
// single-use token until the client connects to the streaming server.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace crid::stream {

struct ExecRequest {
  std::string container_id;  // full id, resolved by the RPC handler
  std::vector<std::string> cmd;
  bool tty = false;
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
};

struct AttachRequest {
  std::string container_id;
  bool tty = false;
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
};

struct PortForwardRequest {
  std::string pod_id;           // full id
  std::vector<uint16_t> ports;  // may be empty: the client names ports per stream
};

using StreamRequest = std::variant<ExecRequest, AttachRequest, PortForwardRequest>;

}  // namespace crid::stream
