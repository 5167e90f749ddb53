// Fuzzes the WebSocket frame parser and message assembler: any bytes must
// parse or fail cleanly, a parsed frame must re-encode to a frame that
// parses back the same, and the assembler must never exceed its cap.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "stream/websocket_channels.h"
#include "stream/websocket_frame.h"
#include "stream/websocket_resize.h"

using namespace crid::stream::ws;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr size_t kCap = 4096;
  FrameLimits limits{Masking::kRequired, kCap};
  MessageAssembler assembler(kCap);
  ResizeDecoder resize;
  while (!input.empty()) {
    auto parsed = parse_frame(input, limits);
    if (!parsed || !*parsed) break;
    const ParsedFrame& pf = **parsed;
    if (pf.size == 0 || pf.size > input.size() || pf.frame.payload.size() > kCap) std::abort();

    // Re-encoded with a mask, the frame parses back identical.
    std::string again = encode_frame(pf.frame.opcode, pf.frame.payload, pf.frame.fin,
                                     std::array<uint8_t, 4>{0xde, 0xad, 0xbe, 0xef});
    auto back = parse_frame(again, limits);
    if (!back || !*back || (*back)->size != again.size() ||
        (*back)->frame.payload != pf.frame.payload || (*back)->frame.fin != pf.frame.fin ||
        (*back)->frame.opcode != pf.frame.opcode) {
      std::abort();
    }
    input.remove_prefix(pf.size);

    auto message = assembler.add(pf.frame);
    if (!message) break;
    if (!*message) continue;
    if ((*message)->payload.size() > kCap) std::abort();
    if ((*message)->opcode == Opcode::kClose) (void)parse_close_payload((*message)->payload);
    auto cm = decode_channel_message(
        (*message)->opcode == Opcode::kText ? ChannelCodec::kBase64 : ChannelCodec::kBinary,
        **message);
    if (cm && *cm && (*cm)->channel == 4) (void)resize.feed((*cm)->data);
  }
  return 0;
}
