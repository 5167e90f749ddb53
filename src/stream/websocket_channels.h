// The Kubernetes channel subprotocols over WebSocket: every message starts
// with the number of the channel it belongs to (a byte, or an ASCII digit
// before base64 text), the way kubelet and the API server speak them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "stream/websocket_frame.h"
#include "util/result.h"

namespace crid::stream::ws {

enum class ChannelCodec {
  kBinary,  // binary frames: channel byte + raw data
  kBase64,  // text frames: channel digit + base64 of the data
};

struct ChannelProtocol {
  std::string_view name;  // "" for a client that offered no subprotocol
  ChannelCodec codec = ChannelCodec::kBinary;
  // v4 and later: the error channel carries a metav1.Status as JSON;
  // before: plain text, and nothing on success.
  bool status_json = false;
  // v5: channel 255 followed by a channel number closes that channel
  // (the client's way of saying stdin reached EOF).
  bool close_signal = false;
};

// Channel numbers of exec and attach.
namespace channel {
inline constexpr uint8_t kStdin = 0;
inline constexpr uint8_t kStdout = 1;
inline constexpr uint8_t kStderr = 2;
inline constexpr uint8_t kError = 3;
inline constexpr uint8_t kResize = 4;
inline constexpr uint8_t kCloseSignal = 255;
}  // namespace channel

// What exec and attach accept, newest first.
std::span<const ChannelProtocol> remote_command_protocols();
// What port-forward accepts: data and error channels per port.
std::span<const ChannelProtocol> port_forward_protocols();
const ChannelProtocol* find_protocol(std::span<const ChannelProtocol> protocols,
                                     std::string_view name);

struct ChannelMessage {
  uint8_t channel = 0;
  std::string data;
};

// The WebSocket message (opcode and payload) carrying `data` on `channel`.
Message encode_channel_message(ChannelCodec codec, uint8_t channel, std::string_view data);

// nullopt for an empty message, which carries no channel (kubelet skips
// them). Base64 that does not decode is kInvalidArgument.
Result<std::optional<ChannelMessage>> decode_channel_message(ChannelCodec codec,
                                                             const Message& message);

// How an exec or attach ended, as the error channel reports it.
struct CommandOutcome {
  enum class Kind { kSuccess, kExitCode, kError } kind = Kind::kSuccess;
  int exit_code = 0;    // kExitCode: non-zero
  std::string message;  // kError: what went wrong
};

// The metav1.Status JSON of v4 and later (Failure/NonZeroExitCode with an
// ExitCode cause for a non-zero exit, Failure/InternalError for an error).
std::string status_json(const CommandOutcome& outcome);
// The plain-text error of the older protocols; empty on success.
std::string status_text(const CommandOutcome& outcome);

}  // namespace crid::stream::ws
