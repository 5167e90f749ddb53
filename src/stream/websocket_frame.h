// RFC 6455 framing: pure functions from bytes to frames and back, and the
// reassembly of fragmented messages. No I/O, so the codec is unit-tested on
// literal bytes and fuzzed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace crid::stream::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline bool is_control(Opcode op) { return static_cast<uint8_t>(op) & 0x8; }

// Close status codes (RFC 6455 section 7.4.1) that crid sends.
namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kInvalidPayload = 1007;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kTooBig = 1009;
inline constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

struct Frame {
  bool fin = true;
  Opcode opcode = Opcode::kBinary;
  std::string payload;  // unmasked
};

// Clients must mask every frame, servers must not (RFC 6455 section 5.1).
enum class Masking { kRequired, kForbidden };

struct FrameLimits {
  Masking masking = Masking::kRequired;
  size_t max_payload = 1 << 20;
};

struct ParsedFrame {
  Frame frame;
  size_t size = 0;  // bytes of `data` the frame took
};

// Parses the frame at the start of `data`. nullopt: more bytes are needed.
// A malformed frame is kInvalidArgument (close with 1002), a payload over
// the cap kResourceExhausted (close with 1009); both are reported as soon
// as the header shows them, before the payload arrives.
Result<std::optional<ParsedFrame>> parse_frame(std::string_view data, const FrameLimits& limits);

// One frame on the wire; server frames pass no mask key.
std::string encode_frame(Opcode opcode, std::string_view payload, bool fin = true,
                         std::optional<std::array<uint8_t, 4>> mask_key = std::nullopt);

// The body of a close frame: a status code and a UTF-8 reason cut to fit
// the 125-byte limit of control frames.
std::string close_payload(uint16_t code, std::string_view reason);

struct CloseInfo {
  std::optional<uint16_t> code;  // absent: the peer sent an empty close
  std::string reason;
};
Result<CloseInfo> parse_close_payload(std::string_view payload);

// The close code to answer a frame or message error with: 1009 for
// kResourceExhausted, 1007 for kFailedPrecondition (text that is not
// UTF-8), 1002 for everything else.
uint16_t close_code_for(const Error& error);

bool is_valid_utf8(std::string_view s);

// A whole message: a data message after its last fragment, or a control
// frame as it came.
struct Message {
  Opcode opcode = Opcode::kBinary;
  std::string payload;
};

// Joins fragments into messages and enforces the fragmentation rules:
// continuations only inside a fragmented message, no new data message
// before the last one ended, control frames allowed in between.
class MessageAssembler {
 public:
  explicit MessageAssembler(size_t max_message) : max_message_(max_message) {}

  // A message when `frame` completes one, nullopt while fragments are
  // pending. Text messages must be valid UTF-8 (kFailedPrecondition).
  Result<std::optional<Message>> add(Frame frame);

 private:
  size_t max_message_;
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::kBinary;
  std::string buffer_;
};

}  // namespace crid::stream::ws
