#include "stream/websocket_frame.h"

#include <algorithm>

namespace crid::stream::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kReservedBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr size_t kMaxControlPayload = 125;

bool known_opcode(uint8_t op) {
  switch (op) {
    case 0x0: case 0x1: case 0x2: case 0x8: case 0x9: case 0xA:
      return true;
    default:
      return false;
  }
}

Error protocol_error(std::string message) {
  return Error(ErrorKind::kInvalidArgument, "websocket protocol error: " + message);
}

// Codes a peer may put in a close frame (RFC 6455 section 7.4): the
// registered ones except those reserved for local use, and 3000-4999.
bool sendable_close_code(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000: case 1001: case 1002: case 1003: case 1007: case 1008:
    case 1009: case 1010: case 1011: case 1012: case 1013: case 1014:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::optional<ParsedFrame>> parse_frame(std::string_view data,
                                               const FrameLimits& limits) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(data[i]); };
  if (data.size() < 2) return std::optional<ParsedFrame>();

  uint8_t b0 = byte(0), b1 = byte(1);
  if (b0 & kReservedBits) {
    return protocol_error(fmt::format("reserved bits 0x{:02x} set, no extension was negotiated",
                                      b0 & kReservedBits));
  }
  uint8_t op = b0 & kOpcodeBits;
  if (!known_opcode(op)) return protocol_error(fmt::format("unknown opcode 0x{:x}", op));
  Opcode opcode = static_cast<Opcode>(op);
  bool fin = b0 & kFinBit;
  bool masked = b1 & kMaskBit;
  if (limits.masking == Masking::kRequired && !masked) {
    return protocol_error("client frame not masked");
  }
  if (limits.masking == Masking::kForbidden && masked) {
    return protocol_error("server frame masked");
  }

  size_t pos = 2;
  uint64_t length = b1 & 0x7F;
  if (length == 126 || length == 127) {
    size_t width = length == 126 ? 2 : 8;
    if (data.size() < pos + width) return std::optional<ParsedFrame>();
    length = 0;
    for (size_t i = 0; i < width; ++i) length = (length << 8) | byte(pos + i);
    pos += width;
    if (width == 8 && (length >> 63)) {
      return protocol_error("64-bit payload length with the most significant bit set");
    }
  }
  if (is_control(opcode)) {
    if (!fin) return protocol_error("fragmented control frame");
    if (length > kMaxControlPayload) {
      return protocol_error(fmt::format("control frame payload of {} bytes (at most 125)", length));
    }
  }
  if (length > limits.max_payload) {
    return Error(ErrorKind::kResourceExhausted,
                 fmt::format("websocket frame payload of {} bytes exceeds the limit of {}", length,
                             limits.max_payload));
  }

  std::array<uint8_t, 4> key{};
  if (masked) {
    if (data.size() < pos + 4) return std::optional<ParsedFrame>();
    for (size_t i = 0; i < 4; ++i) key[i] = byte(pos + i);
    pos += 4;
  }
  if (data.size() - pos < length) return std::optional<ParsedFrame>();

  ParsedFrame parsed;
  parsed.frame.fin = fin;
  parsed.frame.opcode = opcode;
  parsed.frame.payload.assign(data.substr(pos, length));
  if (masked) {
    for (size_t i = 0; i < length; ++i) parsed.frame.payload[i] ^= static_cast<char>(key[i % 4]);
  }
  parsed.size = pos + length;
  return std::optional<ParsedFrame>(std::move(parsed));
}

std::string encode_frame(Opcode opcode, std::string_view payload, bool fin,
                         std::optional<std::array<uint8_t, 4>> mask_key) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>((fin ? kFinBit : 0) | static_cast<uint8_t>(opcode)));
  uint8_t mask = mask_key ? kMaskBit : 0;
  uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(mask | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  if (!mask_key) {
    out.append(payload);
    return out;
  }
  for (uint8_t k : *mask_key) out.push_back(static_cast<char>(k));
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ static_cast<char>((*mask_key)[i % 4])));
  }
  return out;
}

std::string close_payload(uint16_t code, std::string_view reason) {
  // 125 bytes in all, two of them the code; never cut a UTF-8 sequence.
  size_t len = std::min(reason.size(), kMaxControlPayload - 2);
  while (len > 0 && len < reason.size() &&
         (static_cast<uint8_t>(reason[len]) & 0xC0) == 0x80) {
    --len;
  }
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason.substr(0, len));
  return out;
}

Result<CloseInfo> parse_close_payload(std::string_view payload) {
  CloseInfo info;
  if (payload.empty()) return info;
  if (payload.size() == 1) return protocol_error("close frame with a 1-byte payload");
  uint16_t code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                        static_cast<uint8_t>(payload[1]));
  if (!sendable_close_code(code)) {
    return protocol_error(fmt::format("close frame with invalid status code {}", code));
  }
  std::string_view reason = payload.substr(2);
  if (!is_valid_utf8(reason)) {
    return Error(ErrorKind::kFailedPrecondition, "websocket close reason is not valid UTF-8");
  }
  info.code = code;
  info.reason.assign(reason);
  return info;
}

uint16_t close_code_for(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::kResourceExhausted:
      return close_code::kTooBig;
    case ErrorKind::kFailedPrecondition:
      return close_code::kInvalidPayload;
    default:
      return close_code::kProtocolError;
  }
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (extra > s.size() - i - 1) return false;
    for (size_t k = 1; k <= extra; ++k) {
      uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
    // not UTF-8.
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

Result<std::optional<Message>> MessageAssembler::add(Frame frame) {
  if (is_control(frame.opcode)) {
    return std::optional<Message>(Message{frame.opcode, std::move(frame.payload)});
  }
  if (frame.opcode == Opcode::kContinuation) {
    if (!in_message_) return protocol_error("continuation frame outside a fragmented message");
  } else {
    if (in_message_) {
      return protocol_error("new data message before the fragmented one ended");
    }
    in_message_ = true;
    message_opcode_ = frame.opcode;
    buffer_.clear();
  }
  if (frame.payload.size() > max_message_ - buffer_.size()) {
    return Error(ErrorKind::kResourceExhausted,
                 fmt::format("websocket message exceeds the limit of {} bytes", max_message_));
  }
  buffer_.append(frame.payload);
  if (!frame.fin) return std::optional<Message>();

  in_message_ = false;
  if (message_opcode_ == Opcode::kText && !is_valid_utf8(buffer_)) {
    return Error(ErrorKind::kFailedPrecondition, "websocket text message is not valid UTF-8");
  }
  Message done{message_opcode_, std::move(buffer_)};
  buffer_.clear();
  return std::optional<Message>(std::move(done));
}

}  // namespace crid::stream::ws
