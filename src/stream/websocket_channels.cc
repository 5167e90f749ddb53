#include "stream/websocket_channels.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "stream/base64.h"

namespace crid::stream::ws {
namespace {

constexpr std::array<ChannelProtocol, 6> kRemoteCommand{{
    {"v5.channel.k8s.io", ChannelCodec::kBinary, true, true},
    {"v4.channel.k8s.io", ChannelCodec::kBinary, true, false},
    {"v4.base64.channel.k8s.io", ChannelCodec::kBase64, true, false},
    {"channel.k8s.io", ChannelCodec::kBinary, false, false},
    {"base64.channel.k8s.io", ChannelCodec::kBase64, false, false},
    {"", ChannelCodec::kBinary, false, false},
}};

// kubelet's websocket port-forward speaks the v4 channel protocols; crid
// also takes portforward.k8s.io, the name its SPDY sibling negotiates.
constexpr std::array<ChannelProtocol, 4> kPortForward{{
    {"v4.channel.k8s.io", ChannelCodec::kBinary, false, false},
    {"v4.base64.channel.k8s.io", ChannelCodec::kBase64, false, false},
    {"portforward.k8s.io", ChannelCodec::kBinary, false, false},
    {"", ChannelCodec::kBinary, false, false},
}};

std::string failure_message(const CommandOutcome& outcome) {
  if (outcome.kind == CommandOutcome::Kind::kExitCode) {
    return fmt::format("command terminated with non-zero exit code: exit status {}",
                       outcome.exit_code);
  }
  return fmt::format("Internal error occurred: {}", outcome.message);
}

}  // namespace

std::span<const ChannelProtocol> remote_command_protocols() { return kRemoteCommand; }
std::span<const ChannelProtocol> port_forward_protocols() { return kPortForward; }

const ChannelProtocol* find_protocol(std::span<const ChannelProtocol> protocols,
                                     std::string_view name) {
  auto it = std::find_if(protocols.begin(), protocols.end(),
                         [&](const ChannelProtocol& p) { return p.name == name; });
  return it == protocols.end() ? nullptr : &*it;
}

Message encode_channel_message(ChannelCodec codec, uint8_t channel, std::string_view data) {
  Message m;
  if (codec == ChannelCodec::kBinary) {
    m.opcode = Opcode::kBinary;
    m.payload.reserve(data.size() + 1);
    m.payload.push_back(static_cast<char>(channel));
    m.payload.append(data);
  } else {
    m.opcode = Opcode::kText;
    m.payload.push_back(static_cast<char>('0' + channel));
    m.payload.append(base64_encode(data));
  }
  return m;
}

Result<std::optional<ChannelMessage>> decode_channel_message(ChannelCodec codec,
                                                             const Message& message) {
  if (message.payload.empty()) return std::optional<ChannelMessage>();
  ChannelMessage out;
  std::string_view rest = std::string_view(message.payload).substr(1);
  out.channel = static_cast<uint8_t>(message.payload[0]);
  if (codec == ChannelCodec::kBinary) {
    out.data.assign(rest);
  } else {
    out.channel = static_cast<uint8_t>(out.channel - '0');
    auto decoded = base64_decode(rest);
    if (!decoded) {
      return decoded.error().wrap(fmt::format("decoding a message on channel {}", out.channel));
    }
    out.data = std::move(decoded).value();
  }
  return std::optional<ChannelMessage>(std::move(out));
}

std::string status_json(const CommandOutcome& outcome) {
  nlohmann::ordered_json status;
  status["metadata"] = nlohmann::ordered_json::object();
  if (outcome.kind == CommandOutcome::Kind::kSuccess) {
    status["status"] = "Success";
    return status.dump();
  }
  status["status"] = "Failure";
  status["message"] = failure_message(outcome);
  if (outcome.kind == CommandOutcome::Kind::kExitCode) {
    status["reason"] = "NonZeroExitCode";
    status["details"]["causes"] = nlohmann::ordered_json::array(
        {{{"reason", "ExitCode"}, {"message", std::to_string(outcome.exit_code)}}});
  } else {
    status["reason"] = "InternalError";
    status["details"]["causes"] = nlohmann::ordered_json::array({{{"message", outcome.message}}});
    status["code"] = 500;
  }
  return status.dump();
}

std::string status_text(const CommandOutcome& outcome) {
  if (outcome.kind == CommandOutcome::Kind::kSuccess) return "";
  return failure_message(outcome);
}

}  // namespace crid::stream::ws
