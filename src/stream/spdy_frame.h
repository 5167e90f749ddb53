// SPDY/3.1 framing: the frames Kubernetes' clients send and expect
// (SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS,
// WINDOW_UPDATE, DATA), and the zlib-compressed header blocks. Pure code:
// bytes in, frames out (and back), every length checked against the bytes
// that are actually there. The session layer (spdy_connection.h) owns the
// sockets and the two compression contexts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "util/result.h"

namespace crid::stream::spdy {

constexpr uint16_t kVersion = 3;
constexpr size_t kFrameHeaderSize = 8;
// The 24-bit length field's ceiling.
constexpr size_t kMaxFrameLength = (1u << 24) - 1;

enum class FrameType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

constexpr uint8_t kFlagFin = 0x01;
constexpr uint8_t kFlagUnidirectional = 0x02;

// RST_STREAM status codes (SPDY/3.1 section 2.6.3).
enum RstStatus : uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kUnsupportedVersion = 4,
  kCancel = 5,
  kInternalError = 6,
  kFlowControlError = 7,
  kStreamInUse = 8,
  kStreamAlreadyClosed = 9,
  kFrameTooLarge = 11,
};

// Header names are lowercase on the wire; a value holding several values
// joins them with NUL, kept here as sent.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup in a header list; nullopt when absent.
std::optional<std::string> find_header(const HeaderList& h, std::string_view name);

struct DataFrame {
  uint32_t stream_id = 0;
  uint8_t flags = 0;
  std::string data;
};
struct SynStreamFrame {
  uint32_t stream_id = 0;
  uint32_t associated_id = 0;
  uint8_t priority = 0;  // 0 (highest) .. 7
  uint8_t flags = 0;
  HeaderList headers;
};
struct SynReplyFrame {
  uint32_t stream_id = 0;
  uint8_t flags = 0;
  HeaderList headers;
};
struct HeadersFrame {
  uint32_t stream_id = 0;
  uint8_t flags = 0;
  HeaderList headers;
};
struct RstStreamFrame {
  uint32_t stream_id = 0;
  uint32_t status = 0;
};
struct Setting {
  uint8_t flags = 0;
  uint32_t id = 0;  // 24 bits
  uint32_t value = 0;
};
struct SettingsFrame {
  uint8_t flags = 0;
  std::vector<Setting> settings;
};
struct PingFrame {
  uint32_t id = 0;
};
struct GoAwayFrame {
  uint32_t last_good_stream_id = 0;
  uint32_t status = 0;
};
struct WindowUpdateFrame {
  uint32_t stream_id = 0;
  uint32_t delta = 0;
};

using Frame = std::variant<DataFrame, SynStreamFrame, SynReplyFrame, HeadersFrame,
                           RstStreamFrame, SettingsFrame, PingFrame, GoAwayFrame,
                           WindowUpdateFrame>;

// One frame cut out of a byte buffer, not yet decoded.
struct RawFrame {
  bool control = false;
  uint16_t version = 0;   // control frames
  uint16_t type = 0;      // control frames
  uint32_t stream_id = 0;  // data frames
  uint8_t flags = 0;
  std::string_view payload;
  size_t size = 0;  // header + payload: how much of the buffer it used
};

// Cuts the first frame off `buf`. nullopt: not all of it is there yet. An
// error for a frame whose length exceeds `max_payload` (the caller's cap,
// checked before any of the payload arrives) or a control frame of another
// version.
Result<std::optional<RawFrame>> split_frame(std::string_view buf, size_t max_payload);

// Header blocks: the uncompressed form (a count, then length-prefixed names
// and values, all 32-bit big-endian).
std::string encode_header_block(const HeaderList& headers);
// Strict: every length within the block, names non-empty and lowercase, no
// name twice, nothing left over.
Result<HeaderList> parse_header_block(std::string_view block);

// One zlib stream per direction per connection, primed with the SPDY/3
// dictionary; each block ends with a sync flush so the peer can decode it
// on its own.
class HeaderCompressor {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  HeaderCompressor(const HeaderCompressor&) = delete;
  HeaderCompressor& operator=(const HeaderCompressor&) = delete;
  Result<std::string> compress(const HeaderList& headers);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

class HeaderDecompressor {
 public:
  // `max_block` caps the inflated size of one block (a zlib bomb guard).
  explicit HeaderDecompressor(size_t max_block = 256 * 1024);
  ~HeaderDecompressor();
  HeaderDecompressor(const HeaderDecompressor&) = delete;
  HeaderDecompressor& operator=(const HeaderDecompressor&) = delete;
  Result<HeaderList> decompress(std::string_view compressed);

 private:
  struct State;
  std::unique_ptr<State> s_;
  size_t max_block_;
};

// Decodes a frame cut by split_frame (header blocks through `headers`,
// whose stream state advances). Errors name the frame and what is wrong.
Result<Frame> decode_frame(const RawFrame& raw, HeaderDecompressor& headers);

// Encoders. DATA payloads over kMaxFrameLength are an error; control frames
// that carry headers compress them through `headers`.
Result<std::string> encode_data(uint32_t stream_id, uint8_t flags, std::string_view data);
Result<std::string> encode_syn_stream(const SynStreamFrame& f, HeaderCompressor& headers);
Result<std::string> encode_syn_reply(const SynReplyFrame& f, HeaderCompressor& headers);
Result<std::string> encode_headers(const HeadersFrame& f, HeaderCompressor& headers);
std::string encode_rst_stream(uint32_t stream_id, uint32_t status);
std::string encode_settings(const SettingsFrame& f);
std::string encode_ping(uint32_t id);
std::string encode_goaway(uint32_t last_good_stream_id, uint32_t status);
std::string encode_window_update(uint32_t stream_id, uint32_t delta);

// For log lines: "SYN_STREAM", "DATA", ...
const char* frame_name(const Frame& f);

}  // namespace crid::stream::spdy
