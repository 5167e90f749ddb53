// Fuzzes SPDY/3.1 frame parsing as a server meets it: a byte stream cut
// into frames and decoded through one header-decompression context, and
// header blocks on their own. Anything must parse or fail cleanly; what
// parses must re-encode to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "stream/spdy_frame.h"

using namespace crid::stream::spdy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto block = parse_header_block(input)) {
    if (encode_header_block(*block) != input) std::abort();
  }

  HeaderDecompressor headers(64 * 1024);
  std::string_view rest = input;
  for (int i = 0; i < 64; ++i) {
    auto raw = split_frame(rest, 1 << 20);
    if (!raw || !*raw) break;
    if ((*raw)->size > rest.size() || (*raw)->size < kFrameHeaderSize) std::abort();
    auto frame = decode_frame(**raw, headers);
    if (frame) {
      if (auto* d = std::get_if<DataFrame>(&*frame)) {
        auto again = encode_data(d->stream_id, d->flags, d->data);
        if (!again || *again != rest.substr(0, (*raw)->size)) std::abort();
      } else if (auto* p = std::get_if<PingFrame>(&*frame)) {
        if (encode_ping(p->id) != rest.substr(0, (*raw)->size)) std::abort();
      }
    }
    rest.remove_prefix((*raw)->size);
  }
  return 0;
}
